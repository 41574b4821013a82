/*
 * compute.bin: the x86 MIPS benchmark guest (bench/x86.ts). A 64 KiB BIOS image that enters flat 32-bit protected
 * mode, then 128 rounds of: fill 64 KiB at 1 MiB from a linear congruential generator, copy it with REP MOVSL,
 * and hash the copy (FNV-style multiply, rotates, a call per word). It prints the hash on the debug console and
 * exits through isa-debug-exit (status 1), about 50 million instructions in all.
 *
 *   qemu-system-x86_64 -M pc -bios compute.bin -display none -nodefaults -debugcon stdio \
 *       -global isa-debugcon.iobase=0x402 -device isa-debug-exit,iobase=0xf4,iosize=4
 */
        .set    ROM, 0xf0000
        .set    ROUNDS, 128
        .set    WORDS, 16384
        .set    BUF, 0x100000
        .set    COPY, 0x110000

        .code16
        .text
        .globl  _start
_start:
        cli
        cld
        lgdtl   %cs:gdtr
        movl    %cr0, %eax
        orb     $1, %al
        movl    %eax, %cr0
        ljmpl   $0x08, $(ROM + pm32)

        .code32
pm32:
        movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movl    $0x90000, %esp
        movl    $ROUNDS, %ebp
        movl    $0x811c9dc5, %edi       /* the hash */
        movl    $12345, %ebx            /* the generator's state */
round:
        movl    $BUF, %esi
        movl    $WORDS, %ecx
fill:
        imull   $1103515245, %ebx, %ebx
        addl    $12345, %ebx
        movl    %ebx, (%esi)
        addl    $4, %esi
        decl    %ecx
        jnz     fill
        pushl   %edi
        movl    $BUF, %esi
        movl    $COPY, %edi
        movl    $WORDS, %ecx
        rep movsl
        popl    %edi
        movl    $COPY, %esi
        movl    $WORDS, %ecx
hash:
        movl    (%esi), %eax
        call    mix
        xorl    %eax, %edi
        imull   $16777619, %edi, %edi
        roll    $5, %edi
        addl    $4, %esi
        loop    hash
        decl    %ebp
        jnz     round

        movl    $(ROM + result), %esi
        call    puts
        movl    %edi, %eax
        call    puthex
        movl    $(ROM + bye), %esi
        call    puts
        movw    $0xf4, %dx
        movb    $0, %al
        outb    %al, %dx
1:      hlt
        jmp     1b

/* eax = (eax ^ (eax >> 13)) + ecx: a little arithmetic per word. */
mix:
        movl    %eax, %edx
        shrl    $13, %edx
        xorl    %edx, %eax
        addl    %ecx, %eax
        ret

        .include "debugcon32.inc"

result: .asciz "compute: hash 0x"
bye:    .asciz "\nBye.\n"
        .balign 8
gdt:    .quad   0
        .quad   0x00cf9b000000ffff      /* 0x08: 32-bit code, flat */
        .quad   0x00cf93000000ffff      /* 0x10: 32-bit data, flat */
gdtr:   .word   0x17
        .long   ROM + gdt

        /* The reset vector: 16 bytes below the top of the image (F000:FFF0). */
        .org    0xfff0
reset:
        .code16
        ljmp    $0xf000, $_start
        .org    0x10000
