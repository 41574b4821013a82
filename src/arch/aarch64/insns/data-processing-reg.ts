// A64 data processing (register): logical and add/subtract (shifted and extended register), add/subtract with
// carry, conditional compare and select, and the 1-, 2- and 3-source groups.
//
// Register 31 is XZR in every encoding here except add/subtract (extended register), where Rn and the
// non-flag-setting Rd are SP. XZR sources are read through a build-time mask (`xl[n] & mn`, mn = 0 for XZR),
// an XZR destination of a flagless instruction makes it a no-op, and the width is chosen at build time.

import type { Cpu } from "../cpu.js";
import type { Exec, Fields, InsnSpec } from "../decoder.js";
import {
  ExtendType,
  addWithCarry32,
  addWithCarry64,
  bswap32,
  clz64,
  cls32,
  cls64,
  crc32Update,
  CRC32_TABLE,
  CRC32C_TABLE,
  extend32,
  extend64,
  mul64,
  neg64,
  rbit32,
  resultHi,
  rev16x32,
  sdiv32,
  sdiv64,
  shift32,
  shift64,
  smulh64,
  smulhi32,
  udiv32,
  udiv64,
  umulh64,
  umulhi32,
  lsl64,
  lsr64,
  asr64,
  ror64,
  ror32,
  zrMask,
} from "../alu.js";
import { COND_NAMES, EXTEND_NAMES, SHIFT_NAMES, imm, insn, reg } from "../disasm-util.js";

const nop: Exec = () => {};

/** `, lsr #3`, or nothing for LSL #0. */
function shiftSuffix(type: number, amount: number): string[] {
  return type === 0 && amount === 0 ? [] : [`${SHIFT_NAMES[type]} #${amount}`];
}

// ---- logical (shifted register) ------------------------------------------------------------------------

const enum LogicOp {
  AND = 0,
  ORR = 1,
  EOR = 2,
  ANDS = 3,
}

function shiftedGuard(f: Fields): boolean {
  return f.sf === 1 || f.imm6 < 32;
}

function buildLogicalReg(op: LogicOp, invert: boolean) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n, rm: m, shift: type, imm6: amt } = f;
    if (d === 31 && op !== LogicOp.ANDS) return nop;
    const mn = zrMask(n);
    const mm = zrMask(m);
    const inv = invert ? -1 : 0;
    if (f.sf === 0) {
      if (op === LogicOp.ORR && n === 31 && amt === 0 && !invert)
        return (c: Cpu) => {
          c.xlo[d] = c.xlo[m] & mm; // MOV Wd, Wm
          c.xhi[d] = 0;
        };
      switch (op) {
        case LogicOp.AND:
          return (c: Cpu) => {
            c.xlo[d] = (c.xlo[n] & mn) & (shift32(c.xlo[m] & mm, type, amt) ^ inv);
            c.xhi[d] = 0;
          };
        case LogicOp.ORR:
          return (c: Cpu) => {
            c.xlo[d] = (c.xlo[n] & mn) | (shift32(c.xlo[m] & mm, type, amt) ^ inv);
            c.xhi[d] = 0;
          };
        case LogicOp.EOR:
          return (c: Cpu) => {
            c.xlo[d] = (c.xlo[n] & mn) ^ shift32(c.xlo[m] & mm, type, amt) ^ inv;
            c.xhi[d] = 0;
          };
        default:
          return (c: Cpu) => {
            const r = (c.xlo[n] & mn) & (shift32(c.xlo[m] & mm, type, amt) ^ inv);
            c.nf = r >>> 31;
            c.zf = r === 0 ? 1 : 0;
            c.cf = 0;
            c.vf = 0;
            if (d !== 31) {
              c.xlo[d] = r;
              c.xhi[d] = 0;
            }
          };
      }
    }
    if (op === LogicOp.ORR && n === 31 && amt === 0 && !invert)
      return (c: Cpu) => {
        c.xlo[d] = c.xlo[m] & mm; // MOV Xd, Xm
        c.xhi[d] = c.xhi[m] & mm;
      };
    switch (op) {
      case LogicOp.AND:
        return (c: Cpu) => {
          const bl = shift64(c.xlo[m] & mm, c.xhi[m] & mm, type, amt) ^ inv;
          const bh = resultHi ^ inv;
          c.xlo[d] = c.xlo[n] & mn & bl;
          c.xhi[d] = c.xhi[n] & mn & bh;
        };
      case LogicOp.ORR:
        return (c: Cpu) => {
          const bl = shift64(c.xlo[m] & mm, c.xhi[m] & mm, type, amt) ^ inv;
          const bh = resultHi ^ inv;
          c.xlo[d] = (c.xlo[n] & mn) | bl;
          c.xhi[d] = (c.xhi[n] & mn) | bh;
        };
      case LogicOp.EOR:
        return (c: Cpu) => {
          const bl = shift64(c.xlo[m] & mm, c.xhi[m] & mm, type, amt) ^ inv;
          const bh = resultHi ^ inv;
          c.xlo[d] = (c.xlo[n] & mn) ^ bl;
          c.xhi[d] = (c.xhi[n] & mn) ^ bh;
        };
      default:
        return (c: Cpu) => {
          const bl = shift64(c.xlo[m] & mm, c.xhi[m] & mm, type, amt) ^ inv;
          const bh = resultHi ^ inv;
          const rl = c.xlo[n] & mn & bl;
          const rh = c.xhi[n] & mn & bh;
          c.nf = rh >>> 31;
          c.zf = (rl | rh) === 0 ? 1 : 0;
          c.cf = 0;
          c.vf = 0;
          if (d !== 31) {
            c.xlo[d] = rl;
            c.xhi[d] = rh;
          }
        };
    }
  };
}

function disasmLogicalReg(name: string) {
  return (f: Fields): string => {
    const sf = f.sf;
    const rm = [reg(f.rm, sf), ...shiftSuffix(f.shift, f.imm6)];
    if (name === "orr" && f.rn === 31 && f.shift === 0 && f.imm6 === 0) return insn("mov", reg(f.rd, sf), rm[0]);
    if (name === "orn" && f.rn === 31) return insn("mvn", reg(f.rd, sf), ...rm);
    if (name === "ands" && f.rd === 31) return insn("tst", reg(f.rn, sf), ...rm);
    return insn(name, reg(f.rd, sf), reg(f.rn, sf), ...rm);
  };
}

// ---- add / subtract (shifted register) -----------------------------------------------------------------

function addSubShiftedGuard(f: Fields): boolean {
  return f.shift !== 3 && (f.sf === 1 || f.imm6 < 32);
}

function buildAddSubShifted(sub: boolean, setFlags: boolean) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n, rm: m, shift: type, imm6: amt } = f;
    if (d === 31 && !setFlags) return nop;
    const mn = zrMask(n);
    const mm = zrMask(m);
    const inv = sub ? -1 : 0; // a - b = a + ~b + 1
    const cin = sub ? 1 : 0;
    if (f.sf === 0) {
      if (!setFlags) {
        if (sub)
          return (c: Cpu) => {
            c.xlo[d] = (c.xlo[n] & mn) - shift32(c.xlo[m] & mm, type, amt);
            c.xhi[d] = 0;
          };
        return (c: Cpu) => {
          c.xlo[d] = (c.xlo[n] & mn) + shift32(c.xlo[m] & mm, type, amt);
          c.xhi[d] = 0;
        };
      }
      if (d === 31)
        return (c: Cpu) => {
          addWithCarry32(c, c.xlo[n] & mn, shift32(c.xlo[m] & mm, type, amt) ^ inv, cin);
        };
      return (c: Cpu) => {
        c.xlo[d] = addWithCarry32(c, c.xlo[n] & mn, shift32(c.xlo[m] & mm, type, amt) ^ inv, cin);
        c.xhi[d] = 0;
      };
    }
    if (setFlags) {
      if (d === 31 && amt === 0)
        return (c: Cpu) => {
          addWithCarry64(c, c.xlo[n] & mn, c.xhi[n] & mn, (c.xlo[m] & mm) ^ inv, (c.xhi[m] & mm) ^ inv, cin);
        };
      return (c: Cpu) => {
        const bl = shift64(c.xlo[m] & mm, c.xhi[m] & mm, type, amt) ^ inv;
        const bh = resultHi ^ inv;
        const rl = addWithCarry64(c, c.xlo[n] & mn, c.xhi[n] & mn, bl, bh, cin);
        if (d !== 31) {
          c.xlo[d] = rl;
          c.xhi[d] = resultHi;
        }
      };
    }
    if (amt === 0 && n !== 31 && m !== 31) {
      if (sub)
        return (c: Cpu) => {
          const s = (c.xlo[n] >>> 0) - (c.xlo[m] >>> 0);
          const h = c.xhi[n] - c.xhi[m];
          c.xlo[d] = s;
          c.xhi[d] = s < 0 ? h - 1 : h;
        };
      return (c: Cpu) => {
        const s = (c.xlo[n] >>> 0) + (c.xlo[m] >>> 0);
        const h = c.xhi[n] + c.xhi[m];
        c.xlo[d] = s;
        c.xhi[d] = s > 0xffffffff ? h + 1 : h;
      };
    }
    if (type === 0 && amt < 32 && n !== 31 && m !== 31) {
      // add x0, x1, x2, lsl #3: the address arithmetic of array indexing, with the shift inline.
      const back = 32 - amt;
      if (sub)
        return (c: Cpu) => {
          const ml = c.xlo[m];
          const s = (c.xlo[n] >>> 0) - ((ml << amt) >>> 0);
          const h = c.xhi[n] - ((c.xhi[m] << amt) | (ml >>> back));
          c.xlo[d] = s;
          c.xhi[d] = s < 0 ? h - 1 : h;
        };
      return (c: Cpu) => {
        const ml = c.xlo[m];
        const s = (c.xlo[n] >>> 0) + ((ml << amt) >>> 0);
        const h = c.xhi[n] + ((c.xhi[m] << amt) | (ml >>> back));
        c.xlo[d] = s;
        c.xhi[d] = s > 0xffffffff ? h + 1 : h;
      };
    }
    if (sub)
      return (c: Cpu) => {
        const bl = shift64(c.xlo[m] & mm, c.xhi[m] & mm, type, amt);
        const bh = resultHi;
        const s = ((c.xlo[n] & mn) >>> 0) - (bl >>> 0);
        const h = (c.xhi[n] & mn) - bh;
        c.xlo[d] = s;
        c.xhi[d] = s < 0 ? h - 1 : h;
      };
    return (c: Cpu) => {
      const bl = shift64(c.xlo[m] & mm, c.xhi[m] & mm, type, amt);
      const bh = resultHi;
      const s = ((c.xlo[n] & mn) >>> 0) + (bl >>> 0);
      const h = (c.xhi[n] & mn) + bh;
      c.xlo[d] = s;
      c.xhi[d] = s > 0xffffffff ? h + 1 : h;
    };
  };
}

function disasmAddSubShifted(sub: boolean, setFlags: boolean) {
  return (f: Fields): string => {
    const sf = f.sf;
    const rm = [reg(f.rm, sf), ...shiftSuffix(f.shift, f.imm6)];
    if (setFlags && f.rd === 31) return insn(sub ? "cmp" : "cmn", reg(f.rn, sf), ...rm);
    if (sub && f.rn === 31) return insn(setFlags ? "negs" : "neg", reg(f.rd, sf), ...rm);
    return insn((sub ? "sub" : "add") + (setFlags ? "s" : ""), reg(f.rd, sf), reg(f.rn, sf), ...rm);
  };
}

// ---- add / subtract (extended register) ----------------------------------------------------------------

function buildAddSubExtended(sub: boolean, setFlags: boolean) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n, rm: m, imm3: sh } = f;
    const type = f.option as ExtendType;
    const mm = zrMask(m);
    const inv = sub ? -1 : 0;
    const cin = sub ? 1 : 0;
    if (setFlags) {
      // Rn is SP, Rd is XZR (CMP/CMN).
      if (f.sf === 0)
        return (c: Cpu) => {
          const r = addWithCarry32(c, c.xlo[n], extend32(c.xlo[m] & mm, type, sh) ^ inv, cin);
          if (d !== 31) {
            c.xlo[d] = r;
            c.xhi[d] = 0;
          }
        };
      return (c: Cpu) => {
        const bl = extend64(c.xlo[m] & mm, c.xhi[m] & mm, type, sh) ^ inv;
        const bh = resultHi ^ inv;
        const rl = addWithCarry64(c, c.xlo[n], c.xhi[n], bl, bh, cin);
        if (d !== 31) {
          c.xlo[d] = rl;
          c.xhi[d] = resultHi;
        }
      };
    }
    // Rd and Rn are both SP.
    if (f.sf === 0) {
      if (sub)
        return (c: Cpu) => {
          c.xlo[d] = c.xlo[n] - extend32(c.xlo[m] & mm, type, sh);
          c.xhi[d] = 0;
        };
      return (c: Cpu) => {
        c.xlo[d] = c.xlo[n] + extend32(c.xlo[m] & mm, type, sh);
        c.xhi[d] = 0;
      };
    }
    if (sub)
      return (c: Cpu) => {
        const bl = extend64(c.xlo[m] & mm, c.xhi[m] & mm, type, sh);
        const bh = resultHi;
        const s = (c.xlo[n] >>> 0) - (bl >>> 0);
        const h = c.xhi[n] - bh;
        c.xlo[d] = s;
        c.xhi[d] = s < 0 ? h - 1 : h;
      };
    return (c: Cpu) => {
      const bl = extend64(c.xlo[m] & mm, c.xhi[m] & mm, type, sh);
      const bh = resultHi;
      const s = (c.xlo[n] >>> 0) + (bl >>> 0);
      const h = c.xhi[n] + bh;
      c.xlo[d] = s;
      c.xhi[d] = s > 0xffffffff ? h + 1 : h;
    };
  };
}

function disasmAddSubExtended(sub: boolean, setFlags: boolean) {
  return (f: Fields): string => {
    const { sf, option, imm3 } = f;
    const rm = reg(f.rm, sf && (option & 3) === 3);
    // With SP as an operand, the extend that does nothing is written LSL (and omitted when the shift is 0).
    const spInvolved = f.rn === 31 || (!setFlags && f.rd === 31);
    let ext: string[];
    if (spInvolved && option === (sf ? ExtendType.UXTX : ExtendType.UXTW)) ext = imm3 ? [`lsl #${imm3}`] : [];
    else ext = [imm3 ? `${EXTEND_NAMES[option]} #${imm3}` : EXTEND_NAMES[option]];
    const rn = reg(f.rn, sf, true);
    if (setFlags && f.rd === 31) return insn(sub ? "cmp" : "cmn", rn, rm, ...ext);
    return insn((sub ? "sub" : "add") + (setFlags ? "s" : ""), reg(f.rd, sf, !setFlags), rn, rm, ...ext);
  };
}

// ---- add / subtract with carry -------------------------------------------------------------------------

function buildAddSubCarry(sub: boolean, setFlags: boolean) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n, rm: m } = f;
    if (d === 31 && !setFlags) return nop;
    const mn = zrMask(n);
    const mm = zrMask(m);
    const inv = sub ? -1 : 0; // SBC: a + ~b + C
    if (f.sf === 0) {
      if (setFlags)
        return (c: Cpu) => {
          const r = addWithCarry32(c, c.xlo[n] & mn, (c.xlo[m] & mm) ^ inv, c.cf);
          if (d !== 31) {
            c.xlo[d] = r;
            c.xhi[d] = 0;
          }
        };
      return (c: Cpu) => {
        c.xlo[d] = (c.xlo[n] & mn) + ((c.xlo[m] & mm) ^ inv) + c.cf;
        c.xhi[d] = 0;
      };
    }
    if (setFlags)
      return (c: Cpu) => {
        const rl = addWithCarry64(c, c.xlo[n] & mn, c.xhi[n] & mn, (c.xlo[m] & mm) ^ inv, (c.xhi[m] & mm) ^ inv, c.cf);
        if (d !== 31) {
          c.xlo[d] = rl;
          c.xhi[d] = resultHi;
        }
      };
    return (c: Cpu) => {
      const s = ((c.xlo[n] & mn) >>> 0) + (((c.xlo[m] & mm) ^ inv) >>> 0) + c.cf;
      const h = (c.xhi[n] & mn) + ((c.xhi[m] & mm) ^ inv);
      c.xlo[d] = s;
      c.xhi[d] = s > 0xffffffff ? h + 1 : h;
    };
  };
}

function disasmAddSubCarry(sub: boolean, setFlags: boolean) {
  return (f: Fields): string => {
    const sf = f.sf;
    if (sub && f.rn === 31) return insn(setFlags ? "ngcs" : "ngc", reg(f.rd, sf), reg(f.rm, sf));
    return insn((sub ? "sbc" : "adc") + (setFlags ? "s" : ""), reg(f.rd, sf), reg(f.rn, sf), reg(f.rm, sf));
  };
}

// ---- conditional compare -------------------------------------------------------------------------------

function buildCondCompare(sub: boolean, immediate: boolean) {
  return (f: Fields): Exec => {
    const { rn: n, cond } = f;
    const mn = zrMask(n);
    const m = immediate ? 0 : f.rm;
    const mm = immediate ? 0 : zrMask(m);
    const k = immediate ? f.rm : 0; // imm5 sits where Rm would be
    const inv = sub ? -1 : 0;
    const cin = sub ? 1 : 0;
    const nf = (f.nzcv >> 3) & 1;
    const zf = (f.nzcv >> 2) & 1;
    const cf = (f.nzcv >> 1) & 1;
    const vf = f.nzcv & 1;
    // For the immediate form mm = 0 and m = 0, so the operand is just k.
    if (f.sf === 0)
      return (c: Cpu) => {
        if (c.condition(cond)) {
          addWithCarry32(c, c.xlo[n] & mn, ((c.xlo[m] & mm) | k) ^ inv, cin);
        } else {
          c.nf = nf;
          c.zf = zf;
          c.cf = cf;
          c.vf = vf;
        }
      };
    return (c: Cpu) => {
      if (c.condition(cond)) {
        addWithCarry64(c, c.xlo[n] & mn, c.xhi[n] & mn, ((c.xlo[m] & mm) | k) ^ inv, (c.xhi[m] & mm) ^ inv, cin);
      } else {
        c.nf = nf;
        c.zf = zf;
        c.cf = cf;
        c.vf = vf;
      }
    };
  };
}

function disasmCondCompare(sub: boolean, immediate: boolean) {
  return (f: Fields): string =>
    insn(
      sub ? "ccmp" : "ccmn",
      reg(f.rn, f.sf),
      immediate ? imm(f.rm) : reg(f.rm, f.sf),
      imm(f.nzcv),
      COND_NAMES[f.cond],
    );
}

// ---- conditional select --------------------------------------------------------------------------------

const enum SelectOp {
  CSEL = 0,
  CSINC = 1,
  CSINV = 2,
  CSNEG = 3,
}

function buildCondSelect(op: SelectOp) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n, rm: m, cond } = f;
    if (d === 31) return nop;
    const mn = zrMask(n);
    const mm = zrMask(m);
    if (f.sf === 0) {
      switch (op) {
        case SelectOp.CSEL:
          return (c: Cpu) => {
            c.xlo[d] = c.condition(cond) ? c.xlo[n] & mn : c.xlo[m] & mm;
            c.xhi[d] = 0;
          };
        case SelectOp.CSINC:
          return (c: Cpu) => {
            c.xlo[d] = c.condition(cond) ? c.xlo[n] & mn : (c.xlo[m] & mm) + 1;
            c.xhi[d] = 0;
          };
        case SelectOp.CSINV:
          return (c: Cpu) => {
            c.xlo[d] = c.condition(cond) ? c.xlo[n] & mn : ~(c.xlo[m] & mm);
            c.xhi[d] = 0;
          };
        default:
          return (c: Cpu) => {
            c.xlo[d] = c.condition(cond) ? c.xlo[n] & mn : -(c.xlo[m] & mm);
            c.xhi[d] = 0;
          };
      }
    }
    switch (op) {
      case SelectOp.CSEL:
        return (c: Cpu) => {
          if (c.condition(cond)) {
            c.xlo[d] = c.xlo[n] & mn;
            c.xhi[d] = c.xhi[n] & mn;
          } else {
            c.xlo[d] = c.xlo[m] & mm;
            c.xhi[d] = c.xhi[m] & mm;
          }
        };
      case SelectOp.CSINC:
        return (c: Cpu) => {
          if (c.condition(cond)) {
            c.xlo[d] = c.xlo[n] & mn;
            c.xhi[d] = c.xhi[n] & mn;
          } else {
            const lo = (c.xlo[m] & mm) + 1;
            const hi = c.xhi[m] & mm;
            c.xlo[d] = lo;
            c.xhi[d] = lo === 0 ? hi + 1 : hi; // the low half wrapped from -1 to 0
          }
        };
      case SelectOp.CSINV:
        return (c: Cpu) => {
          if (c.condition(cond)) {
            c.xlo[d] = c.xlo[n] & mn;
            c.xhi[d] = c.xhi[n] & mn;
          } else {
            c.xlo[d] = ~(c.xlo[m] & mm);
            c.xhi[d] = ~(c.xhi[m] & mm);
          }
        };
      default:
        return (c: Cpu) => {
          if (c.condition(cond)) {
            c.xlo[d] = c.xlo[n] & mn;
            c.xhi[d] = c.xhi[n] & mn;
          } else {
            c.xlo[d] = neg64(c.xlo[m] & mm, c.xhi[m] & mm);
            c.xhi[d] = resultHi;
          }
        };
    }
  };
}

function disasmCondSelect(op: SelectOp) {
  return (f: Fields): string => {
    const { sf, rd, rn, rm, cond } = f;
    if (op !== SelectOp.CSEL && rn === rm && cond < 14) {
      // The aliases take the inverse condition: cinc x0, x1, eq = csinc x0, x1, x1, ne.
      const inverse = COND_NAMES[cond ^ 1];
      if (op !== SelectOp.CSNEG && rn === 31) return insn(op === SelectOp.CSINC ? "cset" : "csetm", reg(rd, sf), inverse);
      return insn(["", "cinc", "cinv", "cneg"][op], reg(rd, sf), reg(rn, sf), inverse);
    }
    return insn(["csel", "csinc", "csinv", "csneg"][op], reg(rd, sf), reg(rn, sf), reg(rm, sf), COND_NAMES[cond]);
  };
}

// ---- data processing (2 source) ------------------------------------------------------------------------

const enum TwoSourceOp {
  UDIV,
  SDIV,
  LSLV,
  LSRV,
  ASRV,
  RORV,
}

function buildTwoSource(op: TwoSourceOp) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n, rm: m } = f;
    if (d === 31) return nop;
    const mn = zrMask(n);
    const mm = zrMask(m);
    if (f.sf === 0) {
      switch (op) {
        case TwoSourceOp.UDIV:
          return (c: Cpu) => {
            c.xlo[d] = udiv32(c.xlo[n] & mn, c.xlo[m] & mm);
            c.xhi[d] = 0;
          };
        case TwoSourceOp.SDIV:
          return (c: Cpu) => {
            c.xlo[d] = sdiv32(c.xlo[n] & mn, c.xlo[m] & mm);
            c.xhi[d] = 0;
          };
        // JS shift counts are taken mod 32, which is exactly the 32-bit variable shift's amount.
        case TwoSourceOp.LSLV:
          return (c: Cpu) => {
            c.xlo[d] = (c.xlo[n] & mn) << (c.xlo[m] & mm);
            c.xhi[d] = 0;
          };
        case TwoSourceOp.LSRV:
          return (c: Cpu) => {
            c.xlo[d] = (c.xlo[n] & mn) >>> (c.xlo[m] & mm);
            c.xhi[d] = 0;
          };
        case TwoSourceOp.ASRV:
          return (c: Cpu) => {
            c.xlo[d] = (c.xlo[n] & mn) >> (c.xlo[m] & mm);
            c.xhi[d] = 0;
          };
        default:
          return (c: Cpu) => {
            c.xlo[d] = ror32(c.xlo[n] & mn, c.xlo[m] & mm & 31);
            c.xhi[d] = 0;
          };
      }
    }
    switch (op) {
      case TwoSourceOp.UDIV:
        return (c: Cpu) => {
          c.xlo[d] = udiv64(c.xlo[n] & mn, c.xhi[n] & mn, c.xlo[m] & mm, c.xhi[m] & mm);
          c.xhi[d] = resultHi;
        };
      case TwoSourceOp.SDIV:
        return (c: Cpu) => {
          c.xlo[d] = sdiv64(c.xlo[n] & mn, c.xhi[n] & mn, c.xlo[m] & mm, c.xhi[m] & mm);
          c.xhi[d] = resultHi;
        };
      case TwoSourceOp.LSLV:
        return (c: Cpu) => {
          c.xlo[d] = lsl64(c.xlo[n] & mn, c.xhi[n] & mn, c.xlo[m] & mm & 63);
          c.xhi[d] = resultHi;
        };
      case TwoSourceOp.LSRV:
        return (c: Cpu) => {
          c.xlo[d] = lsr64(c.xlo[n] & mn, c.xhi[n] & mn, c.xlo[m] & mm & 63);
          c.xhi[d] = resultHi;
        };
      case TwoSourceOp.ASRV:
        return (c: Cpu) => {
          c.xlo[d] = asr64(c.xlo[n] & mn, c.xhi[n] & mn, c.xlo[m] & mm & 63);
          c.xhi[d] = resultHi;
        };
      default:
        return (c: Cpu) => {
          c.xlo[d] = ror64(c.xlo[n] & mn, c.xhi[n] & mn, c.xlo[m] & mm & 63);
          c.xhi[d] = resultHi;
        };
    }
  };
}

function disasmTwoSource(name: string) {
  return (f: Fields): string => insn(name, reg(f.rd, f.sf), reg(f.rn, f.sf), reg(f.rm, f.sf));
}

function buildCrc(castagnoli: boolean, bytes: number) {
  const table = castagnoli ? CRC32C_TABLE : CRC32_TABLE;
  return (f: Fields): Exec => {
    const { rd: d, rn: n, rm: m } = f;
    if (d === 31) return nop;
    const mn = zrMask(n);
    const mm = zrMask(m);
    if (bytes === 8)
      return (c: Cpu) => {
        const acc = crc32Update(table, c.xlo[n] & mn, c.xlo[m] & mm, 4);
        c.xlo[d] = crc32Update(table, acc, c.xhi[m] & mm, 4);
        c.xhi[d] = 0;
      };
    return (c: Cpu) => {
      c.xlo[d] = crc32Update(table, c.xlo[n] & mn, c.xlo[m] & mm, bytes);
      c.xhi[d] = 0;
    };
  }
}

// ---- data processing (1 source) ------------------------------------------------------------------------

const enum OneSourceOp {
  RBIT,
  REV16,
  REV32,
  REV,
  CLZ,
  CLS,
}

/** `fixedSf` for the rows whose pattern fixes the width (REV, REV32). */
function buildOneSource(op: OneSourceOp, fixedSf?: number) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n } = f;
    if (d === 31) return nop;
    const mn = zrMask(n);
    if ((fixedSf ?? f.sf) === 0) {
      switch (op) {
        case OneSourceOp.RBIT:
          return (c: Cpu) => {
            c.xlo[d] = rbit32(c.xlo[n] & mn);
            c.xhi[d] = 0;
          };
        case OneSourceOp.REV16:
          return (c: Cpu) => {
            c.xlo[d] = rev16x32(c.xlo[n] & mn);
            c.xhi[d] = 0;
          };
        case OneSourceOp.REV:
          return (c: Cpu) => {
            c.xlo[d] = bswap32(c.xlo[n] & mn);
            c.xhi[d] = 0;
          };
        case OneSourceOp.CLZ:
          return (c: Cpu) => {
            c.xlo[d] = Math.clz32(c.xlo[n] & mn);
            c.xhi[d] = 0;
          };
        default:
          return (c: Cpu) => {
            c.xlo[d] = cls32(c.xlo[n] & mn);
            c.xhi[d] = 0;
          };
      }
    }
    switch (op) {
      case OneSourceOp.RBIT:
        return (c: Cpu) => {
          const lo = c.xlo[n] & mn;
          c.xlo[d] = rbit32(c.xhi[n] & mn);
          c.xhi[d] = rbit32(lo);
        };
      case OneSourceOp.REV16:
        return (c: Cpu) => {
          c.xlo[d] = rev16x32(c.xlo[n] & mn);
          c.xhi[d] = rev16x32(c.xhi[n] & mn);
        };
      case OneSourceOp.REV32:
        return (c: Cpu) => {
          c.xlo[d] = bswap32(c.xlo[n] & mn);
          c.xhi[d] = bswap32(c.xhi[n] & mn);
        };
      case OneSourceOp.REV:
        return (c: Cpu) => {
          const lo = c.xlo[n] & mn;
          c.xlo[d] = bswap32(c.xhi[n] & mn);
          c.xhi[d] = bswap32(lo);
        };
      case OneSourceOp.CLZ:
        return (c: Cpu) => {
          c.xlo[d] = clz64(c.xlo[n] & mn, c.xhi[n] & mn);
          c.xhi[d] = 0;
        };
      default:
        return (c: Cpu) => {
          c.xlo[d] = cls64(c.xlo[n] & mn, c.xhi[n] & mn);
          c.xhi[d] = 0;
        };
    }
  };
}

function disasmOneSource(name: string, fixedSf?: number) {
  return (f: Fields): string => insn(name, reg(f.rd, fixedSf ?? f.sf), reg(f.rn, fixedSf ?? f.sf));
}

// ---- data processing (3 source) ------------------------------------------------------------------------

function buildMulAdd(sub: boolean) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n, rm: m, ra: a } = f;
    if (d === 31) return nop;
    const mn = zrMask(n);
    const mm = zrMask(m);
    const ma = zrMask(a);
    if (f.sf === 0) {
      if (sub)
        return (c: Cpu) => {
          c.xlo[d] = (c.xlo[a] & ma) - Math.imul(c.xlo[n] & mn, c.xlo[m] & mm);
          c.xhi[d] = 0;
        };
      return (c: Cpu) => {
        c.xlo[d] = (c.xlo[a] & ma) + Math.imul(c.xlo[n] & mn, c.xlo[m] & mm);
        c.xhi[d] = 0;
      };
    }
    if (sub)
      return (c: Cpu) => {
        const pl = mul64(c.xlo[n] & mn, c.xhi[n] & mn, c.xlo[m] & mm, c.xhi[m] & mm);
        const ph = resultHi;
        const s = ((c.xlo[a] & ma) >>> 0) - (pl >>> 0);
        const h = (c.xhi[a] & ma) - ph;
        c.xlo[d] = s;
        c.xhi[d] = s < 0 ? h - 1 : h;
      };
    return (c: Cpu) => {
      const pl = mul64(c.xlo[n] & mn, c.xhi[n] & mn, c.xlo[m] & mm, c.xhi[m] & mm);
      const ph = resultHi;
      const s = ((c.xlo[a] & ma) >>> 0) + (pl >>> 0);
      const h = (c.xhi[a] & ma) + ph;
      c.xlo[d] = s;
      c.xhi[d] = s > 0xffffffff ? h + 1 : h;
    };
  };
}

/** SMADDL/SMSUBL/UMADDL/UMSUBL: Xd = Xa +- Wn * Wm (64-bit product of 32-bit operands). */
function buildMulAddLong(signed: boolean, sub: boolean) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n, rm: m, ra: a } = f;
    if (d === 31) return nop;
    const mn = zrMask(n);
    const mm = zrMask(m);
    const ma = zrMask(a);
    const mulhi = signed ? smulhi32 : umulhi32;
    if (sub)
      return (c: Cpu) => {
        const wn = c.xlo[n] & mn;
        const wm = c.xlo[m] & mm;
        const pl = Math.imul(wn, wm);
        const ph = mulhi(wn, wm);
        const s = ((c.xlo[a] & ma) >>> 0) - (pl >>> 0);
        const h = (c.xhi[a] & ma) - ph;
        c.xlo[d] = s;
        c.xhi[d] = s < 0 ? h - 1 : h;
      };
    return (c: Cpu) => {
      const wn = c.xlo[n] & mn;
      const wm = c.xlo[m] & mm;
      const pl = Math.imul(wn, wm);
      const ph = mulhi(wn, wm);
      const s = ((c.xlo[a] & ma) >>> 0) + (pl >>> 0);
      const h = (c.xhi[a] & ma) + ph;
      c.xlo[d] = s;
      c.xhi[d] = s > 0xffffffff ? h + 1 : h;
    };
  };
}

function buildMulHigh(signed: boolean) {
  return (f: Fields): Exec => {
    const { rd: d, rn: n, rm: m } = f;
    if (d === 31) return nop;
    const mn = zrMask(n);
    const mm = zrMask(m);
    const mulh = signed ? smulh64 : umulh64;
    return (c: Cpu) => {
      c.xlo[d] = mulh(c.xlo[n] & mn, c.xhi[n] & mn, c.xlo[m] & mm, c.xhi[m] & mm);
      c.xhi[d] = resultHi;
    };
  };
}

function disasmMulAdd(name: string, alias: string, long: boolean) {
  return (f: Fields): string => {
    const sf = long ? 1 : f.sf;
    const src = long ? 0 : sf;
    const ops = [reg(f.rd, sf), reg(f.rn, src), reg(f.rm, src)];
    if (f.ra === 31) return insn(alias, ...ops);
    return insn(name, ...ops, reg(f.ra, sf));
  };
}

// ---- the table -----------------------------------------------------------------------------------------

const LOGICAL_REG = "sf:1 {op} 01010 shift:2 {N} rm:5 imm6:6 rn:5 rd:5";
const ADD_SUB_SHIFTED = "sf:1 {op} 01011 shift:2 0 rm:5 imm6:6 rn:5 rd:5";
const ADD_SUB_EXTENDED = "sf:1 {op} 01011 00 1 rm:5 option:3 imm3:3 rn:5 rd:5";
const ADD_SUB_CARRY = "sf:1 {op} 11010000 rm:5 000000 rn:5 rd:5";
const COND_COMPARE_REG = "sf:1 {op} 1 11010010 rm:5 cond:4 0 0 rn:5 0 nzcv:4";
const COND_COMPARE_IMM = "sf:1 {op} 1 11010010 rm:5 cond:4 1 0 rn:5 0 nzcv:4";
const COND_SELECT = "sf:1 {op} 0 11010100 rm:5 cond:4 0 {o2} rn:5 rd:5";
const TWO_SOURCE = "sf:1 0 0 11010110 rm:5 {opcode} rn:5 rd:5";
const ONE_SOURCE = "{sf} 1 0 11010110 00000 {opcode} rn:5 rd:5";
const THREE_SOURCE = "{sf} 00 11011 {op31} rm:5 {o0} ra:5 rn:5 rd:5";

function fill(pattern: string, values: Record<string, string>): string {
  return pattern.replace(/\{(\w+)\}/g, (_, k: string) => values[k]);
}

/** (op, S) bits of the add/subtract rows: name suffix, subtract, set flags. */
const ADD_SUB_KINDS = [
  ["ADD", "00", false, false],
  ["ADDS", "01", false, true],
  ["SUB", "10", true, false],
  ["SUBS", "11", true, true],
] as const;

export const DP_REG: InsnSpec[] = [
  ...(
    [
      ["AND", "00", "0", LogicOp.AND, false],
      ["BIC", "00", "1", LogicOp.AND, true],
      ["ORR", "01", "0", LogicOp.ORR, false],
      ["ORN", "01", "1", LogicOp.ORR, true],
      ["EOR", "10", "0", LogicOp.EOR, false],
      ["EON", "10", "1", LogicOp.EOR, true],
      ["ANDS", "11", "0", LogicOp.ANDS, false],
      ["BICS", "11", "1", LogicOp.ANDS, true],
    ] as const
  ).map(([name, op, N, kind, invert]) => ({
    name: `${name}_reg`,
    pattern: fill(LOGICAL_REG, { op, N }),
    guard: shiftedGuard,
    build: buildLogicalReg(kind, invert),
    disasm: disasmLogicalReg(name.toLowerCase()),
  })),
  ...ADD_SUB_KINDS.map(([name, op, sub, s]) => ({
    name: `${name}_shifted`,
    pattern: fill(ADD_SUB_SHIFTED, { op }),
    guard: addSubShiftedGuard,
    build: buildAddSubShifted(sub, s),
    disasm: disasmAddSubShifted(sub, s),
  })),
  ...ADD_SUB_KINDS.map(([name, op, sub, s]) => ({
    name: `${name}_extended`,
    pattern: fill(ADD_SUB_EXTENDED, { op }),
    guard: (f: Fields) => f.imm3 <= 4,
    build: buildAddSubExtended(sub, s),
    disasm: disasmAddSubExtended(sub, s),
  })),
  ...(
    [
      ["ADC", "00", false, false],
      ["ADCS", "01", false, true],
      ["SBC", "10", true, false],
      ["SBCS", "11", true, true],
    ] as const
  ).map(([name, op, sub, s]) => ({
    name,
    pattern: fill(ADD_SUB_CARRY, { op }),
    build: buildAddSubCarry(sub, s),
    disasm: disasmAddSubCarry(sub, s),
  })),
  ...(
    [
      ["CCMN_reg", COND_COMPARE_REG, "0", false, false],
      ["CCMP_reg", COND_COMPARE_REG, "1", true, false],
      ["CCMN_imm", COND_COMPARE_IMM, "0", false, true],
      ["CCMP_imm", COND_COMPARE_IMM, "1", true, true],
    ] as const
  ).map(([name, pattern, op, sub, immediate]) => ({
    name,
    pattern: fill(pattern, { op }),
    build: buildCondCompare(sub, immediate),
    disasm: disasmCondCompare(sub, immediate),
  })),
  ...(
    [
      ["CSEL", "0", "0", SelectOp.CSEL],
      ["CSINC", "0", "1", SelectOp.CSINC],
      ["CSINV", "1", "0", SelectOp.CSINV],
      ["CSNEG", "1", "1", SelectOp.CSNEG],
    ] as const
  ).map(([name, op, o2, kind]) => ({
    name,
    pattern: fill(COND_SELECT, { op, o2 }),
    build: buildCondSelect(kind),
    disasm: disasmCondSelect(kind),
  })),
  ...(
    [
      ["UDIV", "000010", TwoSourceOp.UDIV, "udiv"],
      ["SDIV", "000011", TwoSourceOp.SDIV, "sdiv"],
      ["LSLV", "001000", TwoSourceOp.LSLV, "lsl"],
      ["LSRV", "001001", TwoSourceOp.LSRV, "lsr"],
      ["ASRV", "001010", TwoSourceOp.ASRV, "asr"],
      ["RORV", "001011", TwoSourceOp.RORV, "ror"],
    ] as const
  ).map(([name, opcode, kind, text]) => ({
    name,
    pattern: fill(TWO_SOURCE, { opcode }),
    build: buildTwoSource(kind),
    disasm: disasmTwoSource(text),
  })),
  ...(
    [
      ["CRC32B", "0", "010000", false, 1],
      ["CRC32H", "0", "010001", false, 2],
      ["CRC32W", "0", "010010", false, 4],
      ["CRC32X", "1", "010011", false, 8],
      ["CRC32CB", "0", "010100", true, 1],
      ["CRC32CH", "0", "010101", true, 2],
      ["CRC32CW", "0", "010110", true, 4],
      ["CRC32CX", "1", "010111", true, 8],
    ] as const
  ).map(([name, sf, opcode, castagnoli, bytes]) => ({
    name,
    pattern: fill(TWO_SOURCE, { opcode }).replace("sf:1", sf),
    build: buildCrc(castagnoli, bytes),
    disasm: (f: Fields) => insn(name.toLowerCase(), reg(f.rd, 0), reg(f.rn, 0), reg(f.rm, bytes === 8)),
  })),
  ...(
    [
      ["RBIT", undefined, "000000", OneSourceOp.RBIT, "rbit"],
      ["REV16", undefined, "000001", OneSourceOp.REV16, "rev16"],
      ["REV_w", 0, "000010", OneSourceOp.REV, "rev"],
      ["REV32", 1, "000010", OneSourceOp.REV32, "rev32"],
      ["REV_x", 1, "000011", OneSourceOp.REV, "rev"],
      ["CLZ", undefined, "000100", OneSourceOp.CLZ, "clz"],
      ["CLS", undefined, "000101", OneSourceOp.CLS, "cls"],
    ] as const
  ).map(([name, sf, opcode, kind, text]) => ({
    name,
    pattern: fill(ONE_SOURCE, { sf: sf === undefined ? "sf:1" : String(sf), opcode }),
    build: buildOneSource(kind, sf),
    disasm: disasmOneSource(text, sf),
  })),
  {
    name: "MADD",
    pattern: fill(THREE_SOURCE, { sf: "sf:1", op31: "000", o0: "0" }),
    build: buildMulAdd(false),
    disasm: disasmMulAdd("madd", "mul", false),
  },
  {
    name: "MSUB",
    pattern: fill(THREE_SOURCE, { sf: "sf:1", op31: "000", o0: "1" }),
    build: buildMulAdd(true),
    disasm: disasmMulAdd("msub", "mneg", false),
  },
  ...(
    [
      ["SMADDL", "001", "0", true, false, "smull"],
      ["SMSUBL", "001", "1", true, true, "smnegl"],
      ["UMADDL", "101", "0", false, false, "umull"],
      ["UMSUBL", "101", "1", false, true, "umnegl"],
    ] as const
  ).map(([name, op31, o0, signed, sub, alias]) => ({
    name,
    pattern: fill(THREE_SOURCE, { sf: "1", op31, o0 }),
    build: buildMulAddLong(signed, sub),
    disasm: disasmMulAdd(name.toLowerCase(), alias, true),
  })),
  ...(
    [
      ["SMULH", "010", true],
      ["UMULH", "110", false],
    ] as const
  ).map(([name, op31, signed]) => ({
    name,
    pattern: fill(THREE_SOURCE, { sf: "1", op31, o0: "0" }),
    build: buildMulHigh(signed),
    disasm: (f: Fields) => insn(name.toLowerCase(), reg(f.rd, 1), reg(f.rn, 1), reg(f.rm, 1)),
  })),
];
