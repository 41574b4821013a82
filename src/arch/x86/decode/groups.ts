// Opcode extensions by ModRM.reg (Intel SDM Vol. 2 Appendix A, Table A-6), one line per encoding:
//   GROUP SELECT MNEMONIC [OPERANDS] [FLAGS]
// SELECT is the ModRM.reg value, optionally narrowed: "n.m" memory forms only (mod != 3), "n.r" register forms
// only (mod = 3), "n.r.k" the register form with ModRM.rm = k. OPERANDS, when given, replace the opcode row's
// (e.g. TEST's immediate in group 3); "-" means none. Encodings without a line are undefined (#UD).

export const GROUPS = `
grp1 0 add
grp1 1 or
grp1 2 adc
grp1 3 sbb
grp1 4 and
grp1 5 sub
grp1 6 xor
grp1 7 cmp
grp1a 0 pop
grp2 0 rol
grp2 1 ror
grp2 2 rcl
grp2 3 rcr
grp2 4 shl
grp2 5 shr
grp2 6 sal
grp2 7 sar
grp3b 0 test Eb,Ib
grp3b 1 test Eb,Ib
grp3b 2 not
grp3b 3 neg
grp3b 4 mul
grp3b 5 imul
grp3b 6 div
grp3b 7 idiv
grp3 0 test Ev,Iz
grp3 1 test Ev,Iz
grp3 2 not
grp3 3 neg
grp3 4 mul
grp3 5 imul
grp3 6 div
grp3 7 idiv
grp4 0 inc
grp4 1 dec
grp5 0 inc
grp5 1 dec
grp5 2 call Ev f64
grp5 3 callf Mp
grp5 4 jmp Ev f64
grp5 5 jmpf Mp
grp5 6 push Ev d64
grp6 0 sldt Ev
grp6 1 str Ev
grp6 2 lldt Ew
grp6 3 ltr Ew
grp6 4 verr Ew
grp6 5 verw Ew
grp7 0.m sgdt Ms
grp7 1.m sidt Ms
grp7 1.r.0 monitor -
grp7 1.r.1 mwait -
grp7 2.m lgdt Ms
grp7 2.r.0 xgetbv -
grp7 2.r.1 xsetbv -
grp7 3.m lidt Ms
grp7 4 smsw Ev
grp7 6 lmsw Ew
grp7 7.m invlpg Mb
grp7 7.r.0 swapgs - o64
grp7 7.r.1 rdtscp -
grp8 4 bt Ev,Ib
grp8 5 bts Ev,Ib
grp8 6 btr Ev,Ib
grp8 7 btc Ev,Ib
grp9 1.m cmpxchg8b/cmpxchg8b/cmpxchg16b Mq
grp11 0 mov
grp12 2.r psrlw Nq,Ib | 66 psrlw Ux,Ib
grp12 4.r psraw Nq,Ib | 66 psraw Ux,Ib
grp12 6.r psllw Nq,Ib | 66 psllw Ux,Ib
grp13 2.r psrld Nq,Ib | 66 psrld Ux,Ib
grp13 4.r psrad Nq,Ib | 66 psrad Ux,Ib
grp13 6.r pslld Nq,Ib | 66 pslld Ux,Ib
grp14 2.r psrlq Nq,Ib | 66 psrlq Ux,Ib
grp14 3.r 66 psrldq Ux,Ib
grp14 6.r psllq Nq,Ib | 66 psllq Ux,Ib
grp14 7.r 66 pslldq Ux,Ib
grp15 0.m fxsave/fxsave/fxsave64 M
grp15 1.m fxrstor/fxrstor/fxrstor64 M
grp15 2.m ldmxcsr Md
grp15 3.m stmxcsr Md
grp15 4.m xsave/xsave/xsave64 M
grp15 5.m xrstor/xrstor/xrstor64 M
grp15 5.r lfence -
grp15 6.r mfence -
grp15 7.m clflush Mb
grp15 7.r sfence -
grp16 0.m prefetchnta Mb
grp16 1.m prefetcht0 Mb
grp16 2.m prefetcht1 Mb
grp16 3.m prefetcht2 Mb
grpP 0.m prefetch Mb
grpP 1.m prefetchw Mb
`;
