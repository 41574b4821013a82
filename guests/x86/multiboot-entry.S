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

/* The guest's own GDT and IDT (a kernel may not keep the loader's): code 0x08, data 0x10; every vector goes to
 * a stub that counts it, vector 0x24 (IRQ4 with the 8259 at 0x20) to the UART handler. */
    .globl load_tables
load_tables:
    pushl %edi
    lgdt gdt_desc
    ljmp $0x08, $1f
1:  movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl $idt, %edi
    xorl %ecx, %ecx
2:  movl $other_stub, %eax
    cmpl $0x24, %ecx
    jne 3f
    movl $irq4_stub, %eax
3:  movw %ax, (%edi)
    movw $0x08, 2(%edi)
    movw $0x8e00, 4(%edi)           /* present 32-bit interrupt gate, DPL 0 */
    shrl $16, %eax
    movw %ax, 6(%edi)
    addl $8, %edi
    incl %ecx
    cmpl $256, %ecx
    jne 2b
    lidt idt_desc
    popl %edi
    ret

irq4_stub:
    pushal
    call uart_irq
    popal
    iret
other_stub:
    incl other_interrupts
    iret

    .data
    .align 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff
    .quad 0x00cf92000000ffff
gdt_desc:
    .word 3 * 8 - 1
    .long gdt
idt_desc:
    .word 256 * 8 - 1
    .long idt

    .bss
    .align 8
idt:
    .space 256 * 8
    .align 16
    .space 4096
stack_top:
