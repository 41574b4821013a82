/*
 * Rewind's first x86 guest: a 64 KiB BIOS image for the pc board (-bios hello.bin), entered in real mode at
 * F000:FFF0 like any BIOS. It prints to QEMU's debug console (isa-debugcon, port 0x402), reports what CPUID
 * says about the CPU model, and ends the run through isa-debug-exit (port 0xf4; QEMU exits with (value << 1) | 1).
 *
 *   qemu-system-x86_64 -M pc -bios hello.bin -display none -nodefaults -debugcon stdio \
 *       -device isa-debug-exit,iobase=0xf4,iosize=4
 */
        .code16
        .text
        .globl  _start
_start:
        cli
        cld
        xorw    %ax, %ax
        movw    %ax, %ss
        movw    $0x7000, %sp
        movw    %cs, %ax
        movw    %ax, %ds

        movw    $hello, %si
        call    puts

        /* CPUID leaves: 0 (vendor, max leaf), 1 (signature, features), 0x80000000, 0x80000001 (extended), 0x80000008 (address sizes). */
        movw    $leaves, %bx
1:      movl    (%bx), %eax
        cmpl    $0xffffffff, %eax
        je      2f
        pushw   %bx
        movl    %eax, %edi
        xorl    %ecx, %ecx
        cpuid
        pushl   %edx
        pushl   %ecx
        pushl   %ebx
        pushl   %eax
        movw    $cpuid_label, %si
        call    puts
        movl    %edi, %eax
        call    puthex32
        movw    $colon, %si
        call    puts
        movw    $4, %cx
3:      popl    %eax
        call    puthex32
        movb    $' ', %al
        call    putc
        loop    3b
        movb    $'\n', %al
        call    putc
        popw    %bx
        addw    $4, %bx
        jmp     1b

2:      /* A little arithmetic the output depends on: the sum of 1..1000 and 10! in hex. */
        xorl    %eax, %eax
        movl    $1000, %ecx
4:      addl    %ecx, %eax
        loop    4b
        movw    $sum_label, %si
        call    puts
        call    puthex32
        movl    $1, %eax
        movl    $10, %ecx
5:      mull    %ecx
        loop    5b
        movw    $fact_label, %si
        call    puts
        call    puthex32
        movw    $bye, %si
        call    puts

        movw    $0xf4, %dx
        movb    $0, %al
        outb    %al, %dx
6:      hlt
        jmp     6b

/* putc: prints %al on the debug console. */
putc:
        pushw   %dx
        movw    $0x402, %dx
        outb    %al, %dx
        popw    %dx
        ret

/* puts: prints the NUL-terminated string at %ds:%si. */
puts:
        lodsb
        testb   %al, %al
        jz      1f
        call    putc
        jmp     puts
1:      ret

/* puthex32: prints %eax as 8 hex digits. */
puthex32:
        pushl   %eax
        pushw   %cx
        movw    $8, %cx
1:      roll    $4, %eax
        pushl   %eax
        andb    $0x0f, %al
        addb    $'0', %al
        cmpb    $'9', %al
        jbe     2f
        addb    $('a' - '9' - 1), %al
2:      call    putc
        popl    %eax
        loop    1b
        popw    %cx
        popl    %eax
        ret

hello:       .asciz "Hello from Rewind's x86 guest (real mode, F000:FFF0)\n"
cpuid_label: .asciz "cpuid "
colon:       .asciz ": "
sum_label:   .asciz "sum 1..1000 = 0x"
fact_label:  .asciz "\n10! = 0x"
bye:         .asciz "\nBye.\n"
        .balign 4
leaves:      .long 0, 1, 0x80000000, 0x80000001, 0x80000008, 0xffffffff

        /* The reset vector: 16 bytes below the top of the image (F000:FFF0). */
        .org    0xfff0
reset:
        ljmp    $0xf000, $_start
        .org    0x10000
