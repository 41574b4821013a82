// The boards Rewind emulates, by name. Front ends (CLI, benchmarks, tools, tests) build machines through
// createMachine() and list boards with listBoards(); a new board is one registerBoard() line below.

import type { Arch } from "../core/debug.js";
import type { SessionMachine } from "../session/target.js";
import { BoardError, type Board, type BoardConfig, type BootFileKind } from "./board.js";
import { pcBoard } from "./pc/board.js";
import { virtBoard } from "./virt/board.js";

export { BoardError, type Board, type BoardConfig, type BootFile, type BootFileKind } from "./board.js";

const boards: Board[] = [];

/** Adds a board; its name and aliases must be new. */
export function registerBoard(board: Board): void {
  for (const name of [board.name, ...board.aliases]) {
    if (findBoard(name)) throw new Error(`board name '${name}' is already registered`);
  }
  if (!board.cpus.includes(board.defaultCpu)) throw new Error(`board ${board.name}: default CPU ${board.defaultCpu} is not one of its CPUs`);
  boards.push(board);
}

/** Every registered board (of one architecture when `arch` is given), in registration order. */
export function listBoards(arch?: Arch): readonly Board[] {
  return arch === undefined ? [...boards] : boards.filter((b) => b.arch === arch);
}

/** The board with this name or alias. */
export function findBoard(name: string): Board | undefined {
  return boards.find((b) => b.name === name || b.aliases.includes(name));
}

/** The board with this name or alias; an unknown name is a BoardError naming the known boards. */
export function requireBoard(name: string, arch?: Arch): Board {
  const board = findBoard(name);
  if (board && (arch === undefined || board.arch === arch)) return board;
  const known = listBoards(arch).map((b) => b.name);
  throw new BoardError(`unknown board '${name}' (known boards: ${known.join(", ") || "none"})`);
}

const BOOT_FILES: readonly BootFileKind[] = ["kernel", "initrd", "dtb", "bios"];

/**
 * Problems with a configuration for a board, one line each, before anything is built: more RAM than it takes,
 * a CPU the board does not have, a required boot file missing, a boot file the board does not take.
 */
export function checkBoardConfig(board: Board, config: { cpu?: string; ramSize?: number } & Partial<Record<BootFileKind, unknown>>): string[] {
  const out: string[] = [];
  if (config.ramSize !== undefined && config.ramSize > board.maxRamSize)
    out.push(`-m ${config.ramSize / 2 ** 20}M: the ${board.name} board takes at most ${board.maxRamSize / 2 ** 30} GiB of RAM`);
  if (config.cpu !== undefined && !board.cpus.includes(config.cpu))
    out.push(`the ${board.name} board has no CPU model '${config.cpu}' (it has: ${board.cpus.join(", ")})`);
  for (const kind of BOOT_FILES) {
    const use = board.bootFiles[kind];
    if (config[kind] === undefined) {
      if (use?.required !== undefined) out.push(`no ${kind} given: ${use.required}`);
    } else if (use === undefined) out.push(`the ${board.name} board takes no ${kind}`);
  }
  return out;
}

/** Builds a machine of the named board at power-on (BoardError for an unknown board or a bad configuration). */
export function createMachine(name: string, config: BoardConfig): SessionMachine {
  const board = requireBoard(name);
  const problems = checkBoardConfig(board, config);
  if (problems.length) throw new BoardError(problems[0]);
  return board.create(config);
}

registerBoard(virtBoard);
registerBoard(pcBoard);
