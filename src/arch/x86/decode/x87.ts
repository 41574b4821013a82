// The x87 escapes D8-DF (Intel SDM Vol. 2 Appendix A.5): memory forms by ModRM.reg, register forms (mod = 3) by
// ModRM.reg with ST(i) from ModRM.rm, or by the whole ModRM byte for the operand-less ones. "" is undefined.

/** Memory forms, [escape - 0xd8][reg]: mnemonic and memory operand type (SDM letters: d, q, w, t = 80-bit). */
export const X87_MEMORY: readonly (readonly string[])[] = [
  ["fadd Md", "fmul Md", "fcom Md", "fcomp Md", "fsub Md", "fsubr Md", "fdiv Md", "fdivr Md"],
  ["fld Md", "", "fst Md", "fstp Md", "fldenv M", "fldcw Mw", "fnstenv M", "fnstcw Mw"],
  ["fiadd Md", "fimul Md", "ficom Md", "ficomp Md", "fisub Md", "fisubr Md", "fidiv Md", "fidivr Md"],
  ["fild Md", "fisttp Md", "fist Md", "fistp Md", "", "fld Mt", "", "fstp Mt"],
  ["fadd Mq", "fmul Mq", "fcom Mq", "fcomp Mq", "fsub Mq", "fsubr Mq", "fdiv Mq", "fdivr Mq"],
  ["fld Mq", "fisttp Mq", "fst Mq", "fstp Mq", "frstor M", "", "fnsave M", "fnstsw Mw"],
  ["fiadd Mw", "fimul Mw", "ficom Mw", "ficomp Mw", "fisub Mw", "fisubr Mw", "fidiv Mw", "fidivr Mw"],
  ["fild Mw", "fisttp Mw", "fist Mw", "fistp Mw", "fbld Mt", "fild Mq", "fbstp Mt", "fistp Mq"],
];

/** Register forms with ST(i), [escape - 0xd8][reg]; "" where the reg value has only the byte forms below. */
export const X87_REGISTER: readonly (readonly string[])[] = [
  ["fadd ST,STi", "fmul ST,STi", "fcom STi", "fcomp STi", "fsub ST,STi", "fsubr ST,STi", "fdiv ST,STi", "fdivr ST,STi"],
  ["fld STi", "fxch STi", "", "", "", "", "", ""],
  ["fcmovb ST,STi", "fcmove ST,STi", "fcmovbe ST,STi", "fcmovu ST,STi", "", "", "", ""],
  ["fcmovnb ST,STi", "fcmovne ST,STi", "fcmovnbe ST,STi", "fcmovnu ST,STi", "", "fucomi ST,STi", "fcomi ST,STi", ""],
  ["fadd STi,ST", "fmul STi,ST", "", "", "fsubr STi,ST", "fsub STi,ST", "fdivr STi,ST", "fdiv STi,ST"],
  ["ffree STi", "", "fst STi", "fstp STi", "fucom STi", "fucomp STi", "", ""],
  ["faddp STi,ST", "fmulp STi,ST", "", "", "fsubrp STi,ST", "fsubp STi,ST", "fdivrp STi,ST", "fdivp STi,ST"],
  ["", "", "", "", "", "fucomip ST,STi", "fcomip ST,STi", ""],
];

/** Operand-less register forms by escape and ModRM byte. */
export const X87_BYTES: Readonly<Record<string, string>> = {
  "d9 d0": "fnop", "d9 e0": "fchs", "d9 e1": "fabs", "d9 e4": "ftst", "d9 e5": "fxam",
  "d9 e8": "fld1", "d9 e9": "fldl2t", "d9 ea": "fldl2e", "d9 eb": "fldpi", "d9 ec": "fldlg2", "d9 ed": "fldln2", "d9 ee": "fldz",
  "d9 f0": "f2xm1", "d9 f1": "fyl2x", "d9 f2": "fptan", "d9 f3": "fpatan", "d9 f4": "fxtract", "d9 f5": "fprem1",
  "d9 f6": "fdecstp", "d9 f7": "fincstp", "d9 f8": "fprem", "d9 f9": "fyl2xp1", "d9 fa": "fsqrt", "d9 fb": "fsincos",
  "d9 fc": "frndint", "d9 fd": "fscale", "d9 fe": "fsin", "d9 ff": "fcos",
  "da e9": "fucompp", "db e2": "fnclex", "db e3": "fninit", "de d9": "fcompp", "df e0": "fnstsw AX",
};
