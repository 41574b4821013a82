// The one-byte opcode map (Intel SDM Vol. 2 Appendix A, Table A-2), one line per opcode:
//   OPCODE MNEMONIC OPERANDS [FLAGS]
// OPERANDS use the SDM's notation (addressing method + operand type, comma separated, "-" for none); a mnemonic
// "a/b/c" is chosen by operand size (16/32/64). "grpN" rows take their instruction from ModRM.reg (groups.ts),
// "prefix" rows are prefixes (decoder.ts), "esc" rows are the 0F escape and the x87 escapes. FLAGS:
//   i64  invalid in 64-bit mode       o64  valid only in 64-bit mode
//   d64  operand size 64 by default in 64-bit mode (66 selects 16)
//   f64  operand size forced to 64 in 64-bit mode (66 ignored, as Intel processors do)
// Ranges "50-57" repeat the row with the register from the opcode's low bits (operand Z).

export const ONE_BYTE_MAP = `
00 add Eb,Gb
01 add Ev,Gv
02 add Gb,Eb
03 add Gv,Ev
04 add AL,Ib
05 add rAX,Iz
06 push ES i64
07 pop ES i64
08 or Eb,Gb
09 or Ev,Gv
0a or Gb,Eb
0b or Gv,Ev
0c or AL,Ib
0d or rAX,Iz
0e push CS i64
0f esc -
10 adc Eb,Gb
11 adc Ev,Gv
12 adc Gb,Eb
13 adc Gv,Ev
14 adc AL,Ib
15 adc rAX,Iz
16 push SS i64
17 pop SS i64
18 sbb Eb,Gb
19 sbb Ev,Gv
1a sbb Gb,Eb
1b sbb Gv,Ev
1c sbb AL,Ib
1d sbb rAX,Iz
1e push DS i64
1f pop DS i64
20 and Eb,Gb
21 and Ev,Gv
22 and Gb,Eb
23 and Gv,Ev
24 and AL,Ib
25 and rAX,Iz
26 prefix ES
27 daa - i64
28 sub Eb,Gb
29 sub Ev,Gv
2a sub Gb,Eb
2b sub Gv,Ev
2c sub AL,Ib
2d sub rAX,Iz
2e prefix CS
2f das - i64
30 xor Eb,Gb
31 xor Ev,Gv
32 xor Gb,Eb
33 xor Gv,Ev
34 xor AL,Ib
35 xor rAX,Iz
36 prefix SS
37 aaa - i64
38 cmp Eb,Gb
39 cmp Ev,Gv
3a cmp Gb,Eb
3b cmp Gv,Ev
3c cmp AL,Ib
3d cmp rAX,Iz
3e prefix DS
3f aas - i64
40-47 inc Zv i64
48-4f dec Zv i64
50-57 push Zv d64
58-5f pop Zv d64
60 pusha/pushad - i64
61 popa/popad - i64
62 bound Gv,Ma i64
63 arpl Ew,Gw i64
63 movsxd Gv,Ed o64
64 prefix FS
65 prefix GS
66 prefix opsize
67 prefix addrsize
68 push Iz d64
69 imul Gv,Ev,Iz
6a push Ib d64
6b imul Gv,Ev,Ib
6c ins Yb,DX
6d ins Yz,DX
6e outs DX,Xb
6f outs DX,Xz
70 jo Jb f64
71 jno Jb f64
72 jb Jb f64
73 jae Jb f64
74 je Jb f64
75 jne Jb f64
76 jbe Jb f64
77 ja Jb f64
78 js Jb f64
79 jns Jb f64
7a jp Jb f64
7b jnp Jb f64
7c jl Jb f64
7d jge Jb f64
7e jle Jb f64
7f jg Jb f64
80 grp1 Eb,Ib
81 grp1 Ev,Iz
82 grp1 Eb,Ib i64
83 grp1 Ev,Ib
84 test Eb,Gb
85 test Ev,Gv
86 xchg Eb,Gb
87 xchg Ev,Gv
88 mov Eb,Gb
89 mov Ev,Gv
8a mov Gb,Eb
8b mov Gv,Ev
8c mov Ev,Sw
8d lea Gv,M
8e mov Sw,Ew
8f grp1a Ev d64
90 nop -
91-97 xchg Zv,rAX
98 cbw/cwde/cdqe -
99 cwd/cdq/cqo -
9a callf Ap i64
9b fwait -
9c pushf/pushfd/pushfq - d64
9d popf/popfd/popfq - d64
9e sahf -
9f lahf -
a0 mov AL,Ob
a1 mov rAX,Ov
a2 mov Ob,AL
a3 mov Ov,rAX
a4 movsb Yb,Xb
a5 movsw/movsd/movsq Yv,Xv
a6 cmpsb Xb,Yb
a7 cmpsw/cmpsd/cmpsq Xv,Yv
a8 test AL,Ib
a9 test rAX,Iz
aa stosb Yb,AL
ab stosw/stosd/stosq Yv,rAX
ac lodsb AL,Xb
ad lodsw/lodsd/lodsq rAX,Xv
ae scasb AL,Yb
af scasw/scasd/scasq rAX,Yv
b0-b7 mov Zb,Ib
b8-bf mov Zv,Iv
c0 grp2 Eb,Ib
c1 grp2 Ev,Ib
c2 ret Iw f64
c3 ret - f64
c4 les Gz,Mp i64
c5 lds Gz,Mp i64
c6 grp11 Eb,Ib
c7 grp11 Ev,Iz
c8 enter Iw,Ib d64
c9 leave - d64
ca retf Iw
cb retf -
cc int3 -
cd int Ib
ce into - i64
cf iret/iretd/iretq -
d0 grp2 Eb,1
d1 grp2 Ev,1
d2 grp2 Eb,CL
d3 grp2 Ev,CL
d4 aam Ib i64
d5 aad Ib i64
d6 salc - i64
d7 xlat -
d8-df esc -
e0 loopne Jb f64
e1 loope Jb f64
e2 loop Jb f64
e3 jcxz Jb f64
e4 in AL,Ib
e5 in eAX,Ib
e6 out Ib,AL
e7 out Ib,eAX
e8 call Jz f64
e9 jmp Jz f64
ea jmpf Ap i64
eb jmp Jb f64
ec in AL,DX
ed in eAX,DX
ee out DX,AL
ef out DX,eAX
f0 prefix lock
f1 int1 -
f2 prefix repne
f3 prefix rep
f4 hlt -
f5 cmc -
f6 grp3b Eb
f7 grp3 Ev
f8 clc -
f9 stc -
fa cli -
fb sti -
fc cld -
fd std -
fe grp4 Eb
ff grp5 Ev
`;
