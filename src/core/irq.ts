// Interrupt lines: a device raises or lowers a level on a numbered input of an interrupt controller.

export interface IrqController {
  setIrqLevel(line: number, level: boolean): void;
}

export class IrqLine {
  private level = false;
  constructor(
    private readonly controller: IrqController,
    readonly line: number,
  ) {}

  set(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    this.controller.setIrqLevel(this.line, level);
  }
  raise(): void {
    this.set(true);
  }
  lower(): void {
    this.set(false);
  }
  get high(): boolean {
    return this.level;
  }
  /** Restoring a device's state restores its outputs without re-signalling (the controller restores its own). */
  restore(level: boolean): void {
    this.level = level;
  }
}
