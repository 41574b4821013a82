/*
 * RDTSC on the virtual clock: a 64 KiB BIOS image that reads the time-stamp counter twice around a few
 * instructions (and once more after a REP STOSB of 100 iterations), then the TSC's advance across a #DE and a #UD
 * with their handlers, and prints the values (EDX:EAX, last first) in hex on the debug console. Under QEMU with -icount shift=7,sleep=off the TSC is virtual nanoseconds, 128 per instruction,
 * deterministic; Rewind's pc board prints the same.
 *
 *   qemu-system-x86_64 -M pc -bios tsc.bin -display none -nodefaults -debugcon stdio -icount shift=7,sleep=off \
 *       -global isa-debugcon.iobase=0x402 -device isa-debug-exit,iobase=0xf4,iosize=4
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
        movw    %ax, %es
        rdtsc
        pushl   %edx
        pushl   %eax
        nop
        nop
        rdtsc
        pushl   %edx
        pushl   %eax
        movw    $0x1000, %di
        movw    $100, %cx
        rep stosb
        rdtsc
        pushl   %edx
        pushl   %eax
        /* A #DE (QEMU gives back the count of an instruction that faults at run time) and a #UD (counted). */
        movw    %ax, %ds
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    $skip2, 0
        movw    $0xf000, 2
        movw    $skip2, 24
        movw    $0xf000, 26
        rdtsc
        movl    %eax, %edi
        xorb    %bl, %bl
        divb    %bl
        rdtsc
        subl    %edi, %eax
        xorl    %edx, %edx
        pushl   %edx
        pushl   %eax
        rdtsc
        movl    %eax, %edi
        ud2
        rdtsc
        subl    %edi, %eax
        xorl    %edx, %edx
        pushl   %edx
        pushl   %eax
        movw    $5, %bx
1:      popl    %eax
        popl    %edx
        xchgl   %eax, %edx
        call    puthex32
        xchgl   %eax, %edx
        call    puthex32
        movb    $'\n', %al
        call    putc
        decw    %bx
        jnz     1b
        movw    $0xf4, %dx
        movb    $0, %al
        outb    %al, %dx
2:      hlt
        jmp     2b
skip2:
        pushw   %bp
        movw    %sp, %bp
        addw    $2, 2(%bp)
        popw    %bp
        iret
putc:
        pushw   %dx
        movw    $0x402, %dx
        outb    %al, %dx
        popw    %dx
        ret
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
        .org    0xfff0
        ljmp    $0xf000, $_start
        .org    0x10000
