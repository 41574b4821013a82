/* Multiboot 1 entry of the multiboot guest (multiboot.c). The header asks for page-aligned modules and the memory
 * information (flags bits 0 and 1); built with -DAOUT_KLUDGE it sets bit 16 and gives the load addresses itself,
 * so the same program loads through both of QEMU's paths (ELF program headers, or the a.out kludge). */
#define MB_MAGIC 0x1BADB002
#ifdef AOUT_KLUDGE
#define MB_FLAGS 0x00010003
#else
#define MB_FLAGS 0x00000003
#endif

    .section .multiboot, "a"
    .align 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
#ifdef AOUT_KLUDGE
    .long mb_header         /* header_addr */
    .long __load_start      /* load_addr */
    .long __load_end        /* load_end_addr */
    .long __bss_end         /* bss_end_addr */
    .long _start            /* entry_addr */
#endif

    .section .note.GNU-stack, "", @progbits
    .text
    .globl _start
_start:
    /* The machine state the boot loader left, before anything changes it. */
    movl %eax, entry_eax
    movl %ebx, entry_ebx
    movl %esp, entry_esp
    pushfl
    popl entry_eflags
    movl %cr0, %eax
    movl %eax, entry_cr0
    movw %cs, entry_sel
    movw %ds, entry_sel + 2
    movw %es, entry_sel + 4
    movw %ss, entry_sel + 6
    movw %fs, entry_sel + 8
    movw %gs, entry_sel + 10
    sgdt entry_gdtr
    sidt entry_idtr
    movl $stack_top, %esp
    call guest_main
1:  hlt
    jmp 1b

    .bss
    .align 16
    .space 4096
stack_top:
