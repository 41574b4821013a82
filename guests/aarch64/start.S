/*
 * start.S - entry point and exception vectors of Rewind's bare-metal AArch64 demo guests.
 *
 * How we get here (QEMU/Rewind `virt`, -cpu cortex-a53, -kernel guest.elf):
 *   the CPU starts at the ELF entry point (_start) at EL1, MMU and caches off, interrupts
 *   masked, x0 = 0. The image begins with a Linux arm64 Image header, so the same code
 *   also boots as a raw binary (objcopy -O binary): the loader then reads text_offset
 *   from the header, enters through QEMU's small boot stub and passes the device tree
 *   address in x0.
 *
 * What this file does, in order:
 *   1. mask interrupts, select SP_EL1 and point it at the stack the linker script reserves;
 *   2. install the EL1 vector table (IRQs go to handle_irq() in gic.c; every other
 *      exception prints ESR/ELR/FAR through exception_unexpected() in lib.c and powers off);
 *   3. allow FP/SIMD instructions (our C code does not use them, see build.sh, but code
 *      built without -mgeneral-regs-only would otherwise trap);
 *   4. clear .bss, remember the boot x0, check that we are at EL1, call main();
 *   5. pass main's return value to poweroff(), which calls PSCI SYSTEM_OFF.
 */

/* struct exception_frame in lib.c: x0..x30, sp, elr, spsr (280 bytes, rounded up to 288
 * so that SP stays 16-byte aligned). */
#define FRAME_SIZE  288
#define FRAME_ELR   256             /* ELR at 256, SPSR at 264 */

    .section .text.boot, "ax"
    .global _start
    .type _start, %function
_start:
    /* Linux arm64 Image header (Documentation/arch/arm64/booting.rst), 64 bytes. */
    b       primary_entry           /* code0: executed when entered here */
    .long   0                       /* code1 */
    .quad   __text_offset           /* where to load us, relative to a 2 MiB-aligned RAM base */
    .quad   __image_size            /* bytes the image uses in memory, .bss and stack included */
    .quad   0                       /* flags: little-endian, page size unspecified */
    .quad   0, 0, 0                 /* reserved */
    .ascii  "ARM\x64"               /* magic */
    .long   0                       /* reserved (PE/COFF header offset) */

primary_entry:
    msr     daifset, #0xf           /* no interrupts until the vectors are in place */
    mov     x19, x0                 /* keep the boot x0 (device tree or 0) across the setup */

    msr     spsel, #1               /* run on SP_EL1 ("EL1h") */
    adrp    x1, __stack_top
    add     x1, x1, :lo12:__stack_top
    mov     sp, x1

    adrp    x1, vectors
    add     x1, x1, :lo12:vectors
    msr     vbar_el1, x1

    mov     x1, #(3 << 20)          /* CPACR_EL1.FPEN = 0b11: FP/SIMD does not trap at EL1/EL0 */
    msr     cpacr_el1, x1
    isb

    /* Zero .bss; the linker script aligns both ends to 16 bytes. */
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
1:  cmp     x1, x2
    b.hs    2f
    stp     xzr, xzr, [x1], #16
    b       1b
2:
    adrp    x1, boot_x0
    str     x19, [x1, :lo12:boot_x0]

    mrs     x0, CurrentEL           /* EL in bits [3:2]: QEMU enters at EL2 with */
    lsr     x0, x0, #2              /* -M virt,virtualization=on, EL3 with secure=on */
    cmp     x0, #1
    b.ne    wrong_el

    bl      main
    bl      poweroff                /* w0 = main's return value; does not return */
3:  wfi
    b       3b

wrong_el:
    bl      unsupported_exception_level /* w0 = the EL we are at; does not return */
    b       3b
    .size _start, . - _start

/*
 * The EL1 vector table: 16 entries of 128 bytes, 2 KiB aligned. Each entry pushes a
 * frame, saves x0/x1 and branches to common code with the entry's index in x0.
 */
    .section .text.vectors, "ax"

.macro vector_entry index, target
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x0, #\index
    b       \target
.endm

    .balign 0x800
    .global vectors
vectors:
    vector_entry  0, exception_common   /* current EL, SP_EL0: synchronous */
    vector_entry  1, exception_common   /*                     IRQ */
    vector_entry  2, exception_common   /*                     FIQ */
    vector_entry  3, exception_common   /*                     SError */
    vector_entry  4, exception_common   /* current EL, SP_ELx: synchronous */
    vector_entry  5, irq_entry          /*                     IRQ: the one we expect */
    vector_entry  6, exception_common   /*                     FIQ */
    vector_entry  7, exception_common   /*                     SError */
    vector_entry  8, exception_common   /* lower EL, AArch64 (we never run at EL0) */
    vector_entry  9, exception_common
    vector_entry 10, exception_common
    vector_entry 11, exception_common
    vector_entry 12, exception_common   /* lower EL, AArch32 */
    vector_entry 13, exception_common
    vector_entry 14, exception_common
    vector_entry 15, exception_common

/* Saves the full register file and reports the exception; never returns. */
exception_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    add     x1, sp, #FRAME_SIZE     /* SP before the exception */
    stp     x30, x1, [sp, #240]
    mrs     x1, elr_el1
    mrs     x2, spsr_el1
    stp     x1, x2, [sp, #FRAME_ELR]
    mov     x1, sp                  /* x0 = vector index, x1 = frame */
    bl      exception_unexpected
1:  wfi
    b       1b

/*
 * IRQ from EL1: save what the C calling convention lets handle_irq() clobber (x0-x18,
 * x29, x30) plus ELR/SPSR, handle, restore, return to the interrupted instruction.
 */
irq_entry:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    str     x18, [sp, #144]
    stp     x29, x30, [sp, #232]
    mrs     x1, elr_el1
    mrs     x2, spsr_el1
    stp     x1, x2, [sp, #FRAME_ELR]

    bl      handle_irq

    ldp     x1, x2, [sp, #FRAME_ELR]
    msr     elr_el1, x1
    msr     spsr_el1, x2
    ldp     x29, x30, [sp, #232]
    ldr     x18, [sp, #144]
    ldp     x16, x17, [sp, #128]
    ldp     x14, x15, [sp, #112]
    ldp     x12, x13, [sp, #96]
    ldp     x10, x11, [sp, #80]
    ldp     x8, x9, [sp, #64]
    ldp     x6, x7, [sp, #48]
    ldp     x4, x5, [sp, #32]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #FRAME_SIZE
    eret
