/**
 * The one error type the block layer lets escape: every malformed image, unsupported feature, bad argument
 * or I/O failure becomes an ImageError whose message a user can act on.
 */
export class ImageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ImageError";
  }
}

/** Formats a file offset the way qemu-img's messages do (lower-case hex, 0x prefix). */
export function hex(n: number): string {
  return "0x" + n.toString(16);
}

/**
 * Runs `fn` and converts anything that is not already an ImageError (a RangeError from a malformed buffer, a
 * Node system error) into one, so callers never see a stack trace from a bad image.
 */
export function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toImageError(what, e);
  }
}

/** Like toImageError, but also prefixes ImageErrors with the context (unless they already carry it). */
export function withContext(what: string, e: unknown): ImageError {
  const err = toImageError(what, e);
  if (err.message.startsWith(what)) return err;
  const wrapped = new ImageError(`${what}: ${err.message}`, { cause: err });
  return wrapped;
}

export function toImageError(what: string, e: unknown): ImageError {
  if (e instanceof ImageError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === "string" && typeof err.message === "string") {
    return new ImageError(`${what}: ${describeSystemError(err)}`, { cause: e });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new ImageError(`${what}: ${msg}`, { cause: e });
}

function describeSystemError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ENOENT": return "No such file or directory";
    case "EACCES": return "Permission denied";
    case "EISDIR": return "Is a directory";
    case "ENOSPC": return "No space left on device";
    case "EROFS": return "Read-only file system";
    default: return err.message;
  }
}
