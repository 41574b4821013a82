/*
 * Rewind's protected-mode guest: a 64 KiB BIOS image for the pc board (-bios pmode.bin). In real mode it takes
 * software interrupts and exceptions (#DE, #UD, INT3, INTO) through the IVT and runs string, double-shift, xadd,
 * cmpxchg, bit-scan, decimal-adjust, XLAT, ENTER/LEAVE, PUSHA/POPA and LES instructions; then it loads a GDT, enters
 * 32-bit protected mode, takes INT n, INT3 and faults (#DE, #UD, #GP and #NP with error codes, #GP from a far jump
 * beyond a segment limit; an unknown MSR reads 0 as under QEMU) through an IDT of interrupt and trap gates, runs
 * code it copies to RAM and rewrites, calls a 16-bit code segment, loads an LDT and a TSS, uses MTRR MSRs and SGDT, and
 * returns through 16-bit protected mode (a 16-bit interrupt gate there) to big real mode (a 4 GiB data limit) before exiting through
 * isa-debug-exit. Every result is printed on the debug console (port 0x402).
 *
 *   qemu-system-x86_64 -M pc -bios pmode.bin -display none -nodefaults -debugcon stdio \
 *       -global isa-debugcon.iobase=0x402 -device isa-debug-exit,iobase=0xf4,iosize=4
 */
        .set    ROM, 0xf0000

/* Helpers, assembled once per code size. */
.macro HELPERS sfx
putc\sfx:
        pushw   %dx
        movw    $0x402, %dx
        outb    %al, %dx
        popw    %dx
        ret
puts\sfx:
        lodsb
        testb   %al, %al
        jz      1f
        call    putc\sfx
        jmp     puts\sfx
1:      ret
puthex\sfx:
        pushl   %eax
        pushl   %ecx
        movl    $8, %ecx
1:      roll    $4, %eax
        pushl   %eax
        andb    $0x0f, %al
        addb    $'0', %al
        cmpb    $'9', %al
        jbe     2f
        addb    $('a' - '9' - 1), %al
2:      call    putc\sfx
        popl    %eax
        decl    %ecx
        jnz     1b
        popl    %ecx
        popl    %eax
        ret
.endm

/* SHOW16 "text": prints text, %eax in hex, a space (16-bit code, DS = CS). */
.macro SHOW16 text
        pushl   %eax
        pushw   %si
        jmp     8f
9:      .asciz  "\text"
8:      movw    $9b, %si
        call    puts16
        popw    %si
        popl    %eax
        call    puthex16
        pushl   %eax
        movb    $' ', %al
        call    putc16
        popl    %eax
.endm
.macro SHOW32 text
        pushl   %eax
        pushl   %esi
        jmp     8f
9:      .asciz  "\text"
8:      movl    $(ROM + 9b), %esi
        call    puts32
        popl    %esi
        popl    %eax
        call    puthex32
        pushl   %eax
        movb    $' ', %al
        call    putc32
        popl    %eax
.endm
.macro NL16
        pushl   %eax
        movb    $'\n', %al
        call    putc16
        popl    %eax
.endm
.macro NL32
        pushl   %eax
        movb    $'\n', %al
        call    putc32
        popl    %eax
.endm
/* FLAGS16 mask: shows the status flags under mask. */
.macro FLAGS16 mask
        pushfl
        popl    %eax
        andl    $\mask, %eax
        SHOW16  "fl="
.endm
/* IVT16 vector, handler: points a real-mode vector at F000:handler (ES = 0). */
.macro IVT16 vec, handler
        movw    $\handler, %es:(\vec * 4)
        movw    $0xf000, %es:(\vec * 4 + 2)
.endm
/* GATE32 vector, stub, type: an IDT gate to selector 8 (type 0x8e00 interrupt gate, 0x8f00 trap gate). */
.macro GATE32 vec, stub, type
        movl    $(ROM + \stub), %eax
        movl    %eax, %edx
        andl    $0xffff, %eax
        orl     $0x00080000, %eax
        movl    %eax, (0x1000 + \vec * 8)
        andl    $0xffff0000, %edx
        orl     $\type, %edx
        movl    %edx, (0x1004 + \vec * 8)
.endm

        .code16
        .text
        .globl  _start
_start:
        cli
        cld
        xorw    %ax, %ax
        movw    %ax, %ss
        movw    $0x7000, %sp
        movw    %ax, %es
        movw    %cs, %ax
        movw    %ax, %ds
        movw    $hello, %si
        call    puts16

        /* Real-mode interrupts and exceptions through the IVT. */
        IVT16   0, rm_de
        IVT16   3, rm_bp
        IVT16   4, rm_of
        IVT16   6, rm_ud
        IVT16   0x80, rm_80
        movl    $0x1234, %eax
        int     $0x80
        SHOW16  "after int80 ax="
        NL16
        int3
        movb    $0x7f, %al
        addb    $1, %al
        into
        xorw    %ax, %ax
        movb    $7, %bl
        movw    $100, %ax
        divb    %bh
        SHOW16  "after #DE ax="
        NL16
        ud2
        movw    %cs, %ax
        movw    %ax, %es

        /* Strings: REPE CMPSB, REPNE SCASB, REP with a zero count. */
        movw    $str_a, %si
        movw    $str_b, %di
        movw    $16, %cx
        repe cmpsb
        movzwl  %cx, %eax
        SHOW16  "cmps cx="
        movzwl  %si, %eax
        SHOW16  "si="
        FLAGS16 0x8d5
        NL16
        movw    $str_a, %di
        movb    $'x', %al
        movw    $16, %cx
        repne scasb
        movzwl  %cx, %eax
        SHOW16  "scas cx="
        movzwl  %di, %eax
        SHOW16  "di="
        FLAGS16 0x8d5
        NL16
        xorw    %cx, %cx
        repe cmpsb
        movzwl  %si, %eax
        SHOW16  "rep0 si="
        std
        movw    $(str_a + 3), %si
        lodsb
        cld
        movzwl  %si, %eax
        SHOW16  "std si="
        NL16

        /* Double shifts, xadd, cmpxchg, bit scans. */
        movl    $0x12345678, %eax
        movl    $0x9abcdef0, %ebx
        shldl   $8, %ebx, %eax
        SHOW16  "shld="
        FLAGS16 0xc5
        movb    $12, %cl
        shrdl   %cl, %ebx, %eax
        SHOW16  "shrd="
        FLAGS16 0xc5
        movw    $0x8001, %ax
        movw    $0xf00f, %dx
        shldw   $1, %dx, %ax
        movzwl  %ax, %eax
        SHOW16  "shldw="
        FLAGS16 0x8c5
        NL16
        movl    $5, %eax
        movl    $0xfffffffd, %ebx
        xaddl   %eax, %ebx
        SHOW16  "xadd a="
        movl    %ebx, %eax
        SHOW16  "b="
        FLAGS16 0x8d5
        movl    $1, %eax
        movl    $1, %ecx
        movl    $9, %edx
        cmpxchgl %edx, %ecx
        movl    %ecx, %eax
        SHOW16  "cmpxchg c="
        FLAGS16 0x8d5
        movl    $2, %eax
        cmpxchgl %edx, %ecx
        SHOW16  "a="
        FLAGS16 0x8d5
        NL16
        movl    $0x00012000, %ebx
        bsfl    %ebx, %eax
        SHOW16  "bsf="
        bsrl    %ebx, %eax
        SHOW16  "bsr="
        xorl    %ebx, %ebx
        movl    $0x55, %eax
        bsfl    %ebx, %eax
        SHOW16  "bsf0="
        FLAGS16 0x40
        NL16

        /* Decimal adjusts. */
        movb    $0x79, %al
        addb    $0x35, %al
        daa
        movzwl  %ax, %eax
        SHOW16  "daa="
        FLAGS16 0xd5
        movb    $0x35, %al
        subb    $0x47, %al
        das
        movzwl  %ax, %eax
        SHOW16  "das="
        FLAGS16 0xd5
        movw    $0x0109, %ax
        addb    $8, %al
        aaa
        movzwl  %ax, %eax
        SHOW16  "aaa="
        FLAGS16 0x11
        NL16
        movw    $0x0203, %ax
        subb    $5, %al
        aas
        movzwl  %ax, %eax
        SHOW16  "aas="
        FLAGS16 0x11
        movb    $79, %al
        aam
        movzwl  %ax, %eax
        SHOW16  "aam="
        FLAGS16 0xc4
        movw    $0x0708, %ax
        aad
        movzwl  %ax, %eax
        SHOW16  "aad="
        FLAGS16 0xc4
        NL16

        /* XLAT, ENTER/LEAVE, PUSHA/POPA, LES. */
        movw    $str_b, %bx
        movb    $4, %al
        xlat
        movzbl  %al, %eax
        SHOW16  "xlat="
        movw    $0x6000, %bp
        enter   $8, $2
        movzwl  %sp, %eax
        SHOW16  "enter sp="
        movzwl  %bp, %eax
        SHOW16  "bp="
        leave
        movzwl  %sp, %eax
        SHOW16  "leave sp="
        movzwl  %bp, %eax
        SHOW16  "bp="
        NL16
        movl    $0x11111111, %eax
        movl    $0x22222222, %ecx
        movl    $0x33333333, %edx
        movl    $0x44444444, %ebx
        movl    $0x66666666, %esi
        pushal
        pushaw
        xorl    %eax, %eax
        xorl    %ecx, %ecx
        popaw
        popal
        addl    %ecx, %eax
        addl    %edx, %eax
        addl    %ebx, %eax
        addl    %esi, %eax
        SHOW16  "popa sum="
        movzwl  %sp, %eax
        SHOW16  "sp="
        lesw    farptr, %bx
        movw    %es, %ax
        shll    $16, %eax
        movw    %bx, %ax
        SHOW16  "les="
        NL16

        /* Protected mode. */
        lgdtl   gdtr
        movl    %cr0, %eax
        orb     $1, %al
        movl    %eax, %cr0
        ljmpl   $0x08, $(ROM + pm32)

/* Real-mode handlers. */
rm_80:
        SHOW16  "rm int80 ax="
        NL16
        incw    %ax
        iret
rm_bp:
        movl    $3, %eax
        SHOW16  "rm int3 vec="
        NL16
        iret
rm_of:
        movl    $4, %eax
        SHOW16  "rm into vec="
        NL16
        iret
rm_de:
        pushl   %eax
        movl    $0, %eax
        SHOW16  "rm #DE vec="
        NL16
        popl    %eax
        jmp     rm_skip2
rm_ud:
        pushl   %eax
        movl    $6, %eax
        SHOW16  "rm #UD vec="
        NL16
        popl    %eax
rm_skip2:
        pushw   %bp
        movw    %sp, %bp
        addw    $2, 2(%bp)
        popw    %bp
        iret

        HELPERS 16

/* A 16-bit protected-mode code segment (selector 0x18, base F0000): called from 32-bit code. */
pm16_proc:
        movl    $0x16, %eax
        call    puthex16
        movb    $'\n', %al
        call    putc16
        lretl

/* A 16-bit interrupt gate's handler: prints its 16-bit frame (IP, CS, FLAGS) and returns with a 16-bit IRET. */
pm16_int:
        pushw   %bp
        movw    %sp, %bp
        movzwl  2(%bp), %eax
        call    puthex16
        movb    $' ', %al
        call    putc16
        movzwl  4(%bp), %eax
        call    puthex16
        movb    $' ', %al
        call    putc16
        movzwl  6(%bp), %eax
        call    puthex16
        movb    $' ', %al
        call    putc16
        popw    %bp
        iret

/* Back to real mode through 16-bit protected mode: a 64 KiB stack segment, PE cleared, a far jump. */
pm16_exit:
        movw    $0x28, %ax
        movw    %ax, %ss
        movl    $0x31, %eax
        int     $0x31
        pushfl
        popl    %eax
        andl    $0x3ff, %eax
        call    puthex16
        movb    $'\n', %al
        call    putc16
        movl    %cr0, %eax
        andb    $0xfe, %al
        movl    %eax, %cr0
        ljmp    $0xf000, $rm_again

rm_again:
        xorw    %ax, %ax
        movw    %ax, %ss
        movw    $0x7000, %sp
        lidtw   %cs:rm_idtr
        movw    %ax, %ds
        movl    $0x200000, %esi
        movl    $0xcafef00d, %eax
        addr32 movl %eax, (%esi)
        addr32 movl (%esi), %ebx
        movw    %cs, %ax
        movw    %ax, %ds
        movl    %ebx, %eax
        SHOW16  "big real [2M]="
        NL16
        movl    $0x4321, %eax
        int     $0x80
        movw    $bye, %si
        call    puts16
        movw    $0xf4, %dx
        movb    $0x10, %al
        outb    %al, %dx
1:      hlt
        jmp     1b

        .code32
pm32:
        movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    %ax, %fs
        movw    %ax, %gs
        movl    $0x8000, %esp
        movl    %cr0, %eax
        SHOW32  "pm32 cr0="
        NL32
        GATE32  0, stub0, 0x8e00
        GATE32  3, stub3, 0x8f00
        GATE32  6, stub6, 0x8e00
        GATE32  11, stub11, 0x8e00
        GATE32  13, stub13, 0x8e00
        GATE32  0x30, stub30, 0x8f00
        /* Vector 0x31: a 16-bit interrupt gate to the 16-bit code segment (taken from 16-bit protected mode). */
        movl    $(0x00180000 + pm16_int), 0x1000 + 0x31 * 8
        movl    $0x00008600, 0x1004 + 0x31 * 8
        lidt    (ROM + idtr)
        movl    $2, 0x2100              /* how many bytes the fault handler skips */
        movl    $0x3030, %eax
        int     $0x30
        int3
        movl    $1, %eax
        xorl    %edx, %edx
        xorl    %ebx, %ebx
        divl    %ebx
        ud2
        movw    $0x100, %ax
        movw    %ax, %fs
        movw    $0x20, %ax
        movw    %ax, %fs
        movw    $0x08, %ax
        movw    %ax, %ss
        movl    $7, 0x2100
        ljmp    $0x18, $0x10000         /* beyond the 16-bit code segment's limit: #GP(0) */
        /* An LDT and a TSS: LLDT/SLDT, LTR/STR, a data segment from the LDT, and a selector past the LDT's limit. */
        movw    $0x30, %ax
        lldt    %ax
        sldt    %ax
        movzwl  %ax, %eax
        SHOW32  "ldtr="
        movw    $0x38, %ax
        ltr     %ax
        str     %ax
        movzwl  %ax, %eax
        SHOW32  "tr="
        movw    $0x0c, %ax
        movw    %ax, %fs
        movl    $0x5a5a5a5a, %fs:0x2300
        movl    0x2300, %eax
        SHOW32  "ldt data="
        NL32
        movw    $0x14, %ax
        movw    %ax, %fs
        movw    $0x10, %ax
        movw    %ax, %fs
        movl    $0x12345, %ecx
        rdmsr
        movl    $0x2ff, %ecx
        movl    $0xc06, %eax
        xorl    %edx, %edx
        wrmsr
        xorl    %eax, %eax
        rdmsr
        SHOW32  "mtrr def="
        movl    $0xfe, %ecx
        rdmsr
        SHOW32  "cap="
        sgdt    0x2000
        movl    0x2002, %eax
        SHOW32  "sgdt base="
        movzwl  0x2000, %eax
        SHOW32  "limit="
        NL32
        /* Code in RAM, rewritten: one copy inside a page, one whose MOV crosses into the next page (patched there). */
        movl    $0x3000, %edi
        call    copy_smc
        call    *%edi
        SHOW32  "smc="
        movb    $0x22, 0x3001
        call    *%edi
        SHOW32  "patched="
        movl    $0x3ffe, %edi
        call    copy_smc
        call    *%edi
        SHOW32  "cross="
        movb    $0x33, 0x4001
        call    *%edi
        SHOW32  "patched="
        NL32
        movl    %esp, %eax
        SHOW32  "esp="
        lcall   $0x18, $pm16_proc
        movl    %esp, %eax
        SHOW32  "after lcall esp="
        pushl   $0x08
        pushl   $(ROM + 1f)
        lret
1:      movw    %cs, %ax
        movzwl  %ax, %eax
        SHOW32  "lret cs="
        NL32
        ljmp    $0x18, $pm16_exit

copy_smc:
        pushl   %edi
        movl    $(ROM + smc), %esi
        movl    $(smc_end - smc), %ecx
        rep movsb
        popl    %edi
        ret
smc:    movl    $0x11111111, %eax
        ret
smc_end:

/* Exception stubs: push a zero code where the CPU pushes none, then the vector. */
stub0:  pushl   $0
        pushl   $0
        jmp     common
stub3:  pushl   $0
        pushl   $3
        jmp     common
stub6:  pushl   $0
        pushl   $6
        jmp     common
stub11: pushl   $11
        jmp     common
stub13: pushl   $13
        jmp     common
stub30: pushl   $0
        pushl   $0x30
        jmp     common
common:
        pushal
        movl    32(%esp), %eax
        SHOW32  "pm vec="
        movl    36(%esp), %eax
        SHOW32  "code="
        movl    40(%esp), %eax
        SHOW32  "eip="
        movl    44(%esp), %eax
        SHOW32  "cs="
        movl    28(%esp), %eax
        SHOW32  "eax="
        NL32
        movl    32(%esp), %eax
        cmpl    $3, %eax
        je      1f
        cmpl    $0x30, %eax
        je      1f
        movl    0x2100, %eax
        addl    %eax, 40(%esp)
        movl    $2, 0x2100
1:      popal
        addl    $8, %esp
        iret

        HELPERS 32

hello:  .asciz "pmode: real mode\n"
bye:    .asciz "Bye.\n"
str_a:  .ascii "abcdefghijklxnop"
str_b:  .ascii "abcdeFghijklmnop"
        .balign 4
farptr: .word  0x1234, 0x5678
rm_idtr: .word 0x3ff
        .long  0
idtr:   .word  0x18f
        .long  0x1000
        .balign 8
gdt:    .quad  0
        .quad  0x00cf9b000000ffff       /* 0x08: 32-bit code, flat */
        .quad  0x00cf93000000ffff       /* 0x10: 32-bit data, flat */
        .quad  0x00009b0f0000ffff       /* 0x18: 16-bit code, base F0000, 64 KiB */
        .quad  0x00cf13000000ffff       /* 0x20: data, not present */
        .quad  0x000093000000ffff       /* 0x28: 16-bit data, base 0, 64 KiB */
        .quad  0x0000820ffe00000f       /* 0x30: the LDT at F000:FE00, two entries */
        .quad  0x0000890022000067       /* 0x38: a 32-bit TSS at 0x2200 */
gdtr:   .word  0x3f
        .long  ROM + gdt

        .org    0xfe00
ldt:    .quad  0
        .quad  0x00cf93000000ffff       /* LDT 0x0c: 32-bit data, flat */

        .code16
        .org    0xfff0
reset:
        ljmp    $0xf000, $_start
        .org    0x10000
