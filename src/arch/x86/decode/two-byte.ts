// The two-byte opcode map, 0F xx (Intel SDM Vol. 2 Appendix A, Tables ), in one-byte.ts's notation.
// SSE rows list their forms by mandatory prefix, separated by "|": no prefix first, then "66", "f3", "f2" forms
// (a prefix that is not listed makes the instruction undefined). "3a"/"38" are the three-byte escapes.

export const TWO_BYTE_MAP = `
00 grp6 -
01 grp7 -
02 lar Gv,Ew
03 lsl Gv,Ew
05 syscall - o64
06 clts -
07 sysret - o64
08 invd -
09 wbinvd -
0b ud2 -
0d grpP -
10 movups Vps,Wps | 66 movupd Vpd,Wpd | f3 movss Vx,Wss | f2 movsd Vx,Wsd
11 movups Wps,Vps | 66 movupd Wpd,Vpd | f3 movss Wss,Vss | f2 movsd Wsd,Vsd
12 movlps Vq,Mq | 66 movlpd Vq,Mq | f3 movsldup Vx,Wx | f2 movddup Vx,Wsd
13 movlps Mq,Vq | 66 movlpd Mq,Vq
14 unpcklps Vx,Wx | 66 unpcklpd Vx,Wx
15 unpckhps Vx,Wx | 66 unpckhpd Vx,Wx
16 movhps Vdq,Mq | 66 movhpd Vdq,Mq | f3 movshdup Vx,Wx
17 movhps Mq,Vq | 66 movhpd Mq,Vq
18 grp16 -
19-1e nop Ev
1f nop Ev
20 mov Rd,Cd f64
21 mov Rd,Dd f64
22 mov Cd,Rd f64
23 mov Dd,Rd f64
28 movaps Vps,Wps | 66 movapd Vpd,Wpd
29 movaps Wps,Vps | 66 movapd Wpd,Vpd
2a cvtpi2ps Vps,Qpi | 66 cvtpi2pd Vpd,Qpi | f3 cvtsi2ss Vss,Ey | f2 cvtsi2sd Vsd,Ey
2b movntps Mps,Vps | 66 movntpd Mpd,Vpd
2c cvttps2pi Ppi,Wps | 66 cvttpd2pi Ppi,Wpd | f3 cvttss2si Gy,Wss | f2 cvttsd2si Gy,Wsd
2d cvtps2pi Ppi,Wps | 66 cvtpd2pi Qpi,Wpd | f3 cvtss2si Gy,Wss | f2 cvtsd2si Gy,Wsd
2e ucomiss Vss,Wss | 66 ucomisd Vsd,Wsd
2f comiss Vss,Wss | 66 comisd Vsd,Wsd
30 wrmsr -
31 rdtsc -
32 rdmsr -
33 rdpmc -
34 sysenter -
35 sysexit -
37 getsec -
38 esc -
3a esc -
40 cmovo Gv,Ev
41 cmovno Gv,Ev
42 cmovb Gv,Ev
43 cmovae Gv,Ev
44 cmove Gv,Ev
45 cmovne Gv,Ev
46 cmovbe Gv,Ev
47 cmova Gv,Ev
48 cmovs Gv,Ev
49 cmovns Gv,Ev
4a cmovp Gv,Ev
4b cmovnp Gv,Ev
4c cmovl Gv,Ev
4d cmovge Gv,Ev
4e cmovle Gv,Ev
4f cmovg Gv,Ev
50 movmskps Gy,Ups | 66 movmskpd Gy,Upd
51 sqrtps Vps,Wps | 66 sqrtpd Vpd,Wpd | f3 sqrtss Vss,Wss | f2 sqrtsd Vsd,Wsd
52 rsqrtps Vps,Wps | f3 rsqrtss Vss,Wss
53 rcpps Vps,Wps | f3 rcpss Vss,Wss
54 andps Vps,Wps | 66 andpd Vpd,Wpd
55 andnps Vps,Wps | 66 andnpd Vpd,Wpd
56 orps Vps,Wps | 66 orpd Vpd,Wpd
57 xorps Vps,Wps | 66 xorpd Vpd,Wpd
58 addps Vps,Wps | 66 addpd Vpd,Wpd | f3 addss Vss,Wss | f2 addsd Vsd,Wsd
59 mulps Vps,Wps | 66 mulpd Vpd,Wpd | f3 mulss Vss,Wss | f2 mulsd Vsd,Wsd
5a cvtps2pd Vpd,Wps | 66 cvtpd2ps Vps,Wpd | f3 cvtss2sd Vsd,Wss | f2 cvtsd2ss Vss,Wsd
5b cvtdq2ps Vps,Wdq | 66 cvtps2dq Vdq,Wps | f3 cvttps2dq Vdq,Wps
5c subps Vps,Wps | 66 subpd Vpd,Wpd | f3 subss Vss,Wss | f2 subsd Vsd,Wsd
5d minps Vps,Wps | 66 minpd Vpd,Wpd | f3 minss Vss,Wss | f2 minsd Vsd,Wsd
5e divps Vps,Wps | 66 divpd Vpd,Wpd | f3 divss Vss,Wss | f2 divsd Vsd,Wsd
5f maxps Vps,Wps | 66 maxpd Vpd,Wpd | f3 maxss Vss,Wss | f2 maxsd Vsd,Wsd
60 punpcklbw Pq,Qd | 66 punpcklbw Vx,Wx
61 punpcklwd Pq,Qd | 66 punpcklwd Vx,Wx
62 punpckldq Pq,Qd | 66 punpckldq Vx,Wx
63 packsswb Pq,Qq | 66 packsswb Vx,Wx
64 pcmpgtb Pq,Qq | 66 pcmpgtb Vx,Wx
65 pcmpgtw Pq,Qq | 66 pcmpgtw Vx,Wx
66 pcmpgtd Pq,Qq | 66 pcmpgtd Vx,Wx
67 packuswb Pq,Qq | 66 packuswb Vx,Wx
68 punpckhbw Pq,Qq | 66 punpckhbw Vx,Wx
69 punpckhwd Pq,Qq | 66 punpckhwd Vx,Wx
6a punpckhdq Pq,Qq | 66 punpckhdq Vx,Wx
6b packssdw Pq,Qq | 66 packssdw Vx,Wx
6c 66 punpcklqdq Vx,Wx
6d 66 punpckhqdq Vx,Wx
6e movd/movd/movq Pd,Ey | 66 movd/movd/movq Vy,Ey
6f movq Pq,Qq | 66 movdqa Vx,Wx | f3 movdqu Vx,Wx
70 pshufw Pq,Qq,Ib | 66 pshufd Vx,Wx,Ib | f3 pshufhw Vx,Wx,Ib | f2 pshuflw Vx,Wx,Ib
71 grp12 -
72 grp13 -
73 grp14 -
74 pcmpeqb Pq,Qq | 66 pcmpeqb Vx,Wx
75 pcmpeqw Pq,Qq | 66 pcmpeqw Vx,Wx
76 pcmpeqd Pq,Qq | 66 pcmpeqd Vx,Wx
77 emms -
7c 66 haddpd Vpd,Wpd | f2 haddps Vps,Wps
7d 66 hsubpd Vpd,Wpd | f2 hsubps Vps,Wps
7e movd/movd/movq Ey,Pd | 66 movd/movd/movq Ey,Vy | f3 movq Vq,Wq
7f movq Qq,Pq | 66 movdqa Wx,Vx | f3 movdqu Wx,Vx
80 jo Jz f64
81 jno Jz f64
82 jb Jz f64
83 jae Jz f64
84 je Jz f64
85 jne Jz f64
86 jbe Jz f64
87 ja Jz f64
88 js Jz f64
89 jns Jz f64
8a jp Jz f64
8b jnp Jz f64
8c jl Jz f64
8d jge Jz f64
8e jle Jz f64
8f jg Jz f64
90 seto Eb
91 setno Eb
92 setb Eb
93 setae Eb
94 sete Eb
95 setne Eb
96 setbe Eb
97 seta Eb
98 sets Eb
99 setns Eb
9a setp Eb
9b setnp Eb
9c setl Eb
9d setge Eb
9e setle Eb
9f setg Eb
a0 push FS d64
a1 pop FS d64
a2 cpuid -
a3 bt Ev,Gv
a4 shld Ev,Gv,Ib
a5 shld Ev,Gv,CL
a8 push GS d64
a9 pop GS d64
aa rsm -
ab bts Ev,Gv
ac shrd Ev,Gv,Ib
ad shrd Ev,Gv,CL
ae grp15 -
af imul Gv,Ev
b0 cmpxchg Eb,Gb
b1 cmpxchg Ev,Gv
b2 lss Gv,Mp
b3 btr Ev,Gv
b4 lfs Gv,Mp
b5 lgs Gv,Mp
b6 movzx Gv,Eb
b7 movzx Gv,Ew
b8 f3 popcnt Gv,Ev
b9 ud1 Gv,Ev
ba grp8 -
bb btc Ev,Gv
bc bsf Gv,Ev | f3 bsf Gv,Ev
bd bsr Gv,Ev | f3 bsr Gv,Ev
be movsx Gv,Eb
bf movsx Gv,Ew
c0 xadd Eb,Gb
c1 xadd Ev,Gv
c2 cmpps Vps,Wps,Ib | 66 cmppd Vpd,Wpd,Ib | f3 cmpss Vss,Wss,Ib | f2 cmpsd Vsd,Wsd,Ib
c3 movnti My,Gy
c4 pinsrw Pq,Ry/Mw,Ib | 66 pinsrw Vdq,Ry/Mw,Ib
c5 pextrw Gd,Nq,Ib | 66 pextrw Gd,Udq,Ib
c6 shufps Vps,Wps,Ib | 66 shufpd Vpd,Wpd,Ib
c7 grp9 -
c8-cf bswap Zy
d0 66 addsubpd Vpd,Wpd | f2 addsubps Vps,Wps
d1 psrlw Pq,Qq | 66 psrlw Vx,Wx
d2 psrld Pq,Qq | 66 psrld Vx,Wx
d3 psrlq Pq,Qq | 66 psrlq Vx,Wx
d4 paddq Pq,Qq | 66 paddq Vx,Wx
d5 pmullw Pq,Qq | 66 pmullw Vx,Wx
d6 66 movq Wq,Vq | f3 movq2dq Vdq,Nq | f2 movdq2q Pq,Uq
d7 pmovmskb Gd,Nq | 66 pmovmskb Gd,Ux
d8 psubusb Pq,Qq | 66 psubusb Vx,Wx
d9 psubusw Pq,Qq | 66 psubusw Vx,Wx
da pminub Pq,Qq | 66 pminub Vx,Wx
db pand Pq,Qq | 66 pand Vx,Wx
dc paddusb Pq,Qq | 66 paddusb Vx,Wx
dd paddusw Pq,Qq | 66 paddusw Vx,Wx
de pmaxub Pq,Qq | 66 pmaxub Vx,Wx
df pandn Pq,Qq | 66 pandn Vx,Wx
e0 pavgb Pq,Qq | 66 pavgb Vx,Wx
e1 psraw Pq,Qq | 66 psraw Vx,Wx
e2 psrad Pq,Qq | 66 psrad Vx,Wx
e3 pavgw Pq,Qq | 66 pavgw Vx,Wx
e4 pmulhuw Pq,Qq | 66 pmulhuw Vx,Wx
e5 pmulhw Pq,Qq | 66 pmulhw Vx,Wx
e6 66 cvttpd2dq Vx,Wpd | f3 cvtdq2pd Vx,Wpd | f2 cvtpd2dq Vx,Wpd
e7 movntq Mq,Pq | 66 movntdq Mx,Vx
e8 psubsb Pq,Qq | 66 psubsb Vx,Wx
e9 psubsw Pq,Qq | 66 psubsw Vx,Wx
ea pminsw Pq,Qq | 66 pminsw Vx,Wx
eb por Pq,Qq | 66 por Vx,Wx
ec paddsb Pq,Qq | 66 paddsb Vx,Wx
ed paddsw Pq,Qq | 66 paddsw Vx,Wx
ee pmaxsw Pq,Qq | 66 pmaxsw Vx,Wx
ef pxor Pq,Qq | 66 pxor Vx,Wx
f0 f2 lddqu Vx,Mx
f1 psllw Pq,Qq | 66 psllw Vx,Wx
f2 pslld Pq,Qq | 66 pslld Vx,Wx
f3 psllq Pq,Qq | 66 psllq Vx,Wx
f4 pmuludq Pq,Qq | 66 pmuludq Vx,Wx
f5 pmaddwd Pq,Qq | 66 pmaddwd Vx,Wx
f6 psadbw Pq,Qq | 66 psadbw Vx,Wx
f7 maskmovq Pq,Nq | 66 maskmovdqu Vdq,Udq
f8 psubb Pq,Qq | 66 psubb Vx,Wx
f9 psubw Pq,Qq | 66 psubw Vx,Wx
fa psubd Pq,Qq | 66 psubd Vx,Wx
fb psubq Pq,Qq | 66 psubq Vx,Wx
fc paddb Pq,Qq | 66 paddb Vx,Wx
fd paddw Pq,Qq | 66 paddw Vx,Wx
fe paddd Pq,Qq | 66 paddd Vx,Wx
ff ud0 Gv,Ev
`;
