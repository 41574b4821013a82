// The wire side of a GDB remote protocol connection (rr's GdbConnection): bytes in, packets out and back.
// It knows framing, checksums, acks, retransmission, no-ack mode and the ^C byte; it knows nothing about what a
// packet means (that is GdbServer). It never throws on input: whatever arrives becomes a packet, a bad packet
// the server answers with an error, an interrupt, or ignored junk.
//
// Ack mode (the start of every connection): every well-formed packet is acknowledged with `+` before it is
// handled, a packet with a bad checksum is answered with `-` (the client resends it), and a `-` from the client
// resends our last packet (at most `maxRetransmits` times in a row, so a stream of `-` cannot make us flood).
// No-ack mode (after QStartNoAckMode): no `+`/`-` either way; a packet with a bad checksum is not executed (it is
// corrupt) but reported as a bad packet, so the client gets an error reply instead of waiting forever.

import { RspStreamParser, encodePacket } from "./rsp-packet.js";

/** The transport under a connection: a TCP or unix socket, a chardev, or a test buffer. */
export interface ByteLink {
  /** Sends bytes to the client. Must not throw (a dead link drops them). */
  write(data: Uint8Array): void;
  /** Closes the transport; the link calls {@link GdbConnection.transportClosed} once it is gone. */
  end(): void;
}

/** What the connection hands to its owner (the server). */
export interface GdbConnectionHandler {
  /** A well-formed packet: payload with escapes left in place (unescape binary fields where they occur). */
  packet(payload: Buffer): void;
  /** A packet that must not be executed but deserves an error reply, in order (too long; corrupt in no-ack mode). */
  badPacket(reason: string): void;
  /** The client sent ^C (0x03) outside a packet. */
  interrupt(): void;
  /** The transport went away (whoever closed it). Called once. */
  closed(): void;
}

export interface GdbConnectionOptions {
  /** Largest payload accepted: what `PacketSize` in qSupported promises. Longer packets get an error reply. */
  maxPacket: number;
  /** Resends of one packet after `-` before giving up on it. Default 8. */
  maxRetransmits?: number;
  /** Diagnostics about protocol problems (junk, bad checksums). Default: none. */
  log?: (message: string) => void;
}

/** Framing for one client. Feed received bytes to {@link receive}; send replies with {@link send}. */
export class GdbConnection {
  // GDB never run-length encodes what it sends; a `*` in a client packet is data (it is escaped in binary).
  private readonly parser = new RspStreamParser({ expandRunLength: false });
  private ackMode = true;
  private lastSent: Buffer | undefined;
  private retransmits = 0;
  private isClosed = false;
  private junkLogged = false;
  private readonly maxPacket: number;
  private readonly maxRetransmits: number;
  private readonly log: (message: string) => void;
  private handler: GdbConnectionHandler | undefined;

  constructor(
    private readonly link: ByteLink,
    options: GdbConnectionOptions,
  ) {
    this.maxPacket = options.maxPacket;
    this.maxRetransmits = options.maxRetransmits ?? 8;
    this.log = options.log ?? (() => undefined);
  }

  /** Sets who gets the packets (done once by the server before any byte is received). */
  setHandler(handler: GdbConnectionHandler): void {
    this.handler = handler;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** True after QStartNoAckMode took effect. */
  get noAck(): boolean {
    return !this.ackMode;
  }

  /** Bytes from the client. Never throws: a failing handler is the handler's business (the server catches). */
  receive(chunk: Uint8Array): void {
    if (this.isClosed) return;
    const h = this.handler;
    for (const ev of this.parser.push(chunk)) {
      if (this.isClosed) return;
      switch (ev.type) {
        case "ack":
          this.retransmits = 0;
          break;
        case "nack":
          if (!this.ackMode || !this.lastSent) break;
          if (this.retransmits >= this.maxRetransmits) {
            this.log(`the client rejected a reply ${this.retransmits + 1} times; not sending it again`);
            this.lastSent = undefined;
            break;
          }
          this.retransmits++;
          this.link.write(this.lastSent);
          break;
        case "interrupt":
          h?.interrupt();
          break;
        case "packet":
          if (!ev.checksumOk) {
            this.log("received a packet with a bad checksum");
            if (this.ackMode) this.link.write(NACK_BYTE);
            else h?.badPacket("bad checksum");
            break;
          }
          if (this.ackMode) this.link.write(ACK_BYTE);
          if (ev.payload.length > this.maxPacket) {
            h?.badPacket(`packet of ${ev.payload.length} bytes is longer than the ${this.maxPacket} announced`);
          } else {
            h?.packet(ev.payload);
          }
          break;
        case "notification":
          break; // only a stub sends notifications
        case "junk":
          if (ev.reason.startsWith("packet longer")) {
            // The parser gave up in the middle of a huge packet; the rest of it arrives as junk and is dropped.
            h?.badPacket(ev.reason);
          } else if (!this.junkLogged) {
            this.junkLogged = true;
            this.log(`ignoring bytes outside packets (${ev.reason})`);
          }
          break;
      }
    }
  }

  /** Sends one packet (payload already escaped where it carries binary data). */
  send(payload: string | Uint8Array): void {
    if (this.isClosed) return;
    let frame: Buffer;
    try {
      frame = encodePacket(payload);
    } catch (e) {
      // A reply with an unescaped '$' or '#' would break the framing: a server bug, reported, never sent.
      this.log(`internal error: cannot send a reply (${(e as Error).message})`);
      frame = encodePacket("E05");
    }
    if (this.ackMode) {
      this.lastSent = frame;
      this.retransmits = 0;
    }
    this.link.write(frame);
  }

  /** Switches to no-ack mode: call right after sending the `OK` to QStartNoAckMode (that one is still acked). */
  startNoAckMode(): void {
    this.ackMode = false;
    this.lastSent = undefined;
  }

  /** Closes the transport from our side. */
  close(): void {
    if (this.isClosed) return;
    this.link.end();
    this.transportClosed();
  }

  /** The transport reports that it is gone. Idempotent. */
  transportClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.lastSent = undefined;
    this.parser.reset();
    this.handler?.closed();
  }
}

const ACK_BYTE = Buffer.from("+", "latin1");
const NACK_BYTE = Buffer.from("-", "latin1");
