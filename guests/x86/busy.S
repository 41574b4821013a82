/*
 * busy.bin: computes while timer interrupts arrive (the x86 twin of guests/aarch64/busy.elf, for the chunking and
 * replay property tests). A 64 KiB BIOS image that enters flat 32-bit protected mode with an IDT for vector 8,
 * programs the local APIC as a BIOS does (software-enabled, LINT0 in ExtINT mode: without it the 8259 reaches no
 * CPU), the 8259 pair (IRQ 0 at vector 8, every other line masked) and the 8254's channel 0 in mode 2 with a
 * divisor of 100 (an interrupt every ~84 µs of virtual time, ~650 instructions at -icount shift=7), then runs
 * 120,000 rounds of a 32-bit hash with interrupts enabled. The IRQ 0 handler counts the ticks and folds the
 * interrupted EIP into a second hash, so the output changes if any interrupt is taken at another instruction. It
 * prints both and exits through isa-debug-exit (status 1).
 *
 *   qemu-system-x86_64 -M pc -bios busy.bin -display none -nodefaults -debugcon stdio -icount shift=7 \
 *       -global isa-debugcon.iobase=0x402 -device isa-debug-exit,iobase=0xf4,iosize=4
 */
        .set    ROM, 0xf0000
        .set    TICKS, 0x500            /* dword: IRQ 0 count */
        .set    IPHASH, 0x504           /* dword: interrupted EIPs, folded */
        .set    ROUNDS, 120000
        .set    LAPIC_SVR, 0xfee000f0
        .set    LAPIC_LINT0, 0xfee00350

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
        lidt    ROM + idtr
        movl    $0, TICKS
        movl    $0, IPHASH
        movl    $0x1ff, LAPIC_SVR       /* APIC software-enabled, spurious vector 0xff */
        movl    $0x8700, LAPIC_LINT0    /* LINT0: ExtINT, level (as SeaBIOS programs it) */
        /* 8259 pair: ICW1-4 (edge, cascade, 8086 mode), master at vector 8, slave at 0x70; only IRQ 0 unmasked. */
        movb    $0x11, %al
        outb    %al, $0x20
        outb    %al, $0xa0
        movb    $0x08, %al
        outb    %al, $0x21
        movb    $0x70, %al
        outb    %al, $0xa1
        movb    $0x04, %al
        outb    %al, $0x21
        movb    $0x02, %al
        outb    %al, $0xa1
        movb    $0x01, %al
        outb    %al, $0x21
        outb    %al, $0xa1
        movb    $0xfe, %al
        outb    %al, $0x21
        movb    $0xff, %al
        outb    %al, $0xa1
        /* 8254 channel 0: lobyte/hibyte, mode 2 (rate generator), divisor 100. */
        movb    $0x34, %al
        outb    %al, $0x43
        movb    $100, %al
        outb    %al, $0x40
        xorb    %al, %al
        outb    %al, $0x40
        sti
        movl    $ROUNDS, %ecx
        movl    $0x811c9dc5, %edi
        movl    $12345, %ebx
1:      imull   $1103515245, %ebx, %ebx
        addl    $12345, %ebx
        xorl    %ebx, %edi
        roll    $7, %edi
        decl    %ecx
        jnz     1b
        cli
        movl    $(ROM + label_ticks), %esi
        call    puts
        movl    TICKS, %eax
        call    puthex
        movl    $(ROM + label_ips), %esi
        call    puts
        movl    IPHASH, %eax
        call    puthex
        movl    $(ROM + label_hash), %esi
        call    puts
        movl    %edi, %eax
        call    puthex
        movl    $(ROM + bye), %esi
        call    puts
        movw    $0xf4, %dx
        movb    $0, %al
        outb    %al, %dx
2:      hlt
        jmp     2b

/* IRQ 0: count, fold the interrupted EIP into IPHASH (IPHASH = rol(IPHASH, 5) ^ EIP), EOI. */
irq0:
        pushl   %eax
        incl    TICKS
        movl    IPHASH, %eax
        roll    $5, %eax
        xorl    4(%esp), %eax
        movl    %eax, IPHASH
        movb    $0x20, %al
        outb    %al, $0x20
        popl    %eax
        iret

        .include "debugcon32.inc"

label_ticks: .asciz "busy: ticks=0x"
label_ips:   .asciz " iphash=0x"
label_hash:  .asciz " hash=0x"
bye:         .asciz "\nBye.\n"
        .balign 8
gdt:    .quad   0
        .quad   0x00cf9b000000ffff      /* 0x08: 32-bit code, flat */
        .quad   0x00cf93000000ffff      /* 0x10: 32-bit data, flat */
gdtr:   .word   0x17
        .long   ROM + gdt
        /* Vectors 0-7 not present (a fault would triple-fault: none is expected); 8: IRQ 0, an interrupt gate. */
        .balign 8
idt:    .fill   16, 4, 0
        .word   irq0, 0x0008, 0x8e00, (ROM >> 16)
idtr:   .word   9 * 8 - 1
        .long   ROM + idt

        /* The reset vector: 16 bytes below the top of the image (F000:FFF0). */
        .org    0xfff0
reset:
        .code16
        ljmp    $0xf000, $_start
        .org    0x10000
