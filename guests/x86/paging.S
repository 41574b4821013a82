/*
 * Rewind's paging guest: a 64 KiB BIOS image for the pc board (-bios paging.bin). From the reset vector it enters
 * 32-bit protected mode, turns on 32-bit paging (an identity map of the first 4 MiB and an alias page at
 * 0x40000000), writes through the alias and reads back through the identity map, prints the accessed/dirty bits the
 * CPU set, takes #PF on a not-present page and on a read-only page with CR0.WP (the handler prints CR2, the error
 * code and EIP, fixes the entry and returns: the instruction restarts), shows a stale TLB entry until INVLPG and a
 * MOV to CR3, maps a 4 MiB page with CR4.PSE, then PAE paging with EFER.NXE: a 2 MiB page, a fetch #PF from an XD
 * page (I/D in the error code) and a reserved-bit #PF (RSVD); then long mode: 4-level tables (the same
 * tables below, the high half at 0xffffff8000000000 too), EFER.LME and CR0.PG (IA-32e, compatibility mode), a far
 * jump to a 64-bit code segment, a 64-bit IDT, 64-bit arithmetic, RIP-relative data, a read through the high half
 * and a #PF whose handler maps the page and returns with IRETQ; then user mode: SYSRET to CPL 3, SYSCALL back
 * (SWAPGS for the kernel's GS base), a #PF at CPL 3 on a supervisor page taken on the TSS's RSP0 stack, IRETQ to
 * CPL 3 and the read restarted. It exits through isa-debug-exit; every result is printed on the debug console
 * (port 0x402).
 *
 *   qemu-system-x86_64 -M pc -bios paging.bin -display none -nodefaults -debugcon stdio \
 *       -global isa-debugcon.iobase=0x402 -device isa-debug-exit,iobase=0xf4,iosize=4
 */
        .set    ROM, 0xf0000
        .set    PD, 0x10000             /* 32-bit paging: the page directory */
        .set    PT0, 0x11000            /* its identity page table (0-4 MiB) */
        .set    PTA, 0x12000            /* the page table of the alias at 0x40000000 */
        .set    PDPT, 0x13000           /* PAE: the page-directory-pointer table */
        .set    PAE_PD0, 0x14000        /* 0-1 GiB: one 2 MiB identity page */
        .set    PAE_PD1, 0x15000        /* 1-2 GiB */
        .set    PAE_PT, 0x16000         /* 0x40000000-0x401fffff */
        .set    FIXUP, 0x2100           /* what the #PF handler calls to repair the mapping */
        .set    ALIAS, 0x40000000
        .set    PML4, 0x17000           /* 4-level paging: [0] and [511] -> PDPT64 */
        .set    PDPT64, 0x18000         /* [0] -> PAE_PD0, [1] -> PAE_PD1 */
        .set    IDT64, 0x3000
        .set    TSS64, 0x2400           /* RSP0 at +4 */
        .set    PDE_ALIAS, PD + (ALIAS >> 22) * 4
        .set    PDE_4M, PD + (0x80000000 >> 22) * 4
        .set    PTE_20000, PT0 + 0x20 * 4   /* the identity entry of 0x20000 */

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
.macro NL32
        pushl   %eax
        movb    $'\n', %al
        call    putc32
        popl    %eax
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


/* GATE64 vector, stub: a 64-bit interrupt gate (16 bytes) to selector 0x18, written from 32-bit code. */
.macro GATE64 vec, stub
        movl    $(ROM + \stub), %eax
        movl    %eax, %edx
        andl    $0xffff, %eax
        orl     $0x00180000, %eax
        movl    %eax, (IDT64 + \vec * 16)
        andl    $0xffff0000, %edx
        orl     $0x8e00, %edx
        movl    %edx, (IDT64 + 4 + \vec * 16)
        movl    $0, (IDT64 + 8 + \vec * 16)
        movl    $0, (IDT64 + 12 + \vec * 16)
.endm
/* SHOW_AT "text", address: prints the 32-bit value at address. */
.macro SHOW_AT text, addr
        movl    \addr, %eax
        SHOW32  "\text"
.endm
/* FIX routine: the #PF handler's repair for the next fault. */
.macro FIX routine
        movl    $(ROM + \routine), FIXUP
.endm

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
        movl    $0x8000, %esp
        movl    $(ROM + hello), %esi
        call    puts32
        GATE32  13, gp_handler, 0x8e00
        GATE32  14, pf_handler, 0x8e00
        lidt    (ROM + idtr)

        /* The tables: zero 0x10000-0x16fff, then fill them. */
        movl    $PD, %edi
        movl    $(0x7000 / 4), %ecx
        xorl    %eax, %eax
        rep stosl
        movl    $PT0, %edi
        movl    $3, %eax
        movl    $1024, %ecx
1:      stosl
        addl    $0x1000, %eax
        loop    1b
        movl    $(PT0 + 3), PD
        movl    $(PTA + 3), PDE_ALIAS
        movl    $0x20003, PTA           /* alias page 0 -> 0x20000 */
        movl    $0x22001, PTA + 8       /* alias page 2 -> 0x22000, read-only */

        /* 32-bit paging with CR0.WP. */
        movl    $PD, %eax
        movl    %eax, %cr3
        movl    %cr0, %eax
        orl     $0x80010000, %eax
        movl    %eax, %cr0
        SHOW32  "paging cr0="
        NL32
        movl    $0xcafe0001, ALIAS
        SHOW_AT "alias write; identity read=", 0x20000
        SHOW_AT "pte=", PTA
        SHOW_AT "pde=", PDE_ALIAS
        SHOW_AT "identity pte=", PTE_20000
        NL32

        /* A not-present page: the handler maps it and the MOV restarts. */
        FIX     map_page1
        movl    $0xbeef0002, ALIAS + 0x1000
        SHOW_AT "restarted; wrote=", 0x21000
        NL32
        /* A read-only page with CR0.WP: the handler makes it writable. */
        FIX     make_writable
        movl    $0x12345678, ALIAS + 0x2000
        SHOW_AT "restarted; wrote=", 0x22000
        NL32

        /* A stale TLB entry: the alias moved to 0x21000 is not seen until INVLPG. */
        movl    ALIAS, %eax
        movl    $0x21003, PTA
        SHOW_AT "stale=", ALIAS
        invlpg  ALIAS
        SHOW_AT "after invlpg=", ALIAS
        movl    $0x20003, PTA
        SHOW_AT "stale=", ALIAS
        movl    %cr3, %eax
        movl    %eax, %cr3
        SHOW_AT "after cr3=", ALIAS
        NL32

        /* A 4 MiB page (CR4.PSE) at 0x80000000 -> physical 0. */
        movl    %cr4, %eax
        orl     $0x10, %eax
        movl    %eax, %cr4
        movl    $0x83, PDE_4M
        SHOW_AT "4M page=", 0x80020000
        SHOW_AT "pde=", PDE_4M
        NL32

        /* PAE with NXE: paging off, new tables, paging on. */
        movl    %cr0, %eax
        andl    $0x7fffffff, %eax
        movl    %eax, %cr0
        movl    $(PAE_PD0 + 1), PDPT
        movl    $(PAE_PD1 + 1), PDPT + 8
        movl    $0x83, PAE_PD0          /* 0-2 MiB: one 2 MiB page */
        movl    $(PAE_PT + 3), PAE_PD1
        movl    $0x20003, PAE_PT
        movl    $0x21003, PAE_PT + 8
        movl    $0x80000000, PAE_PT + 12 /* XD */
        movl    $0x22003, PAE_PT + 16
        movl    $0x00080000, PAE_PT + 20 /* bit 51: reserved (MAXPHYADDR 40) */
        movb    $0xc3, 0x21000          /* RET */
        movl    $0xc0000080, %ecx
        rdmsr
        orl     $0x800, %eax
        wrmsr
        movl    %cr4, %eax
        orl     $0x20, %eax
        movl    %eax, %cr4
        movl    $PDPT, %eax
        movl    %eax, %cr3
        movl    %cr0, %eax
        orl     $0x80000000, %eax
        movl    %eax, %cr0
        movl    %cr4, %eax
        SHOW32  "pae cr4="
        SHOW_AT "alias=", ALIAS
        NL32
        FIX     clear_xd
        movl    $(ALIAS + 0x1000), %eax
        call    *%eax
        movl    $(ROM + nx_ok), %esi
        call    puts32
        FIX     clear_rsvd
        SHOW_AT "restarted; read=", ALIAS + 0x2000
        SHOW_AT "2M pde=", PAE_PD0
        SHOW_AT "pte=", PAE_PT
        NL32

        /* Long mode: paging off, 4-level tables, EFER.LME, paging on (IA-32e mode, still 32-bit code: compatibility
         * mode), a 64-bit IDT, a far jump to the 64-bit code segment. */
        movl    %cr0, %eax
        andl    $0x7fffffff, %eax
        movl    %eax, %cr0
        movl    $(PDPT64 + 7), PML4     /* user-accessible: the first 2 MiB */
        movl    $(PDPT64 + 3), PML4 + 511 * 8
        movl    $(PAE_PD0 + 7), PDPT64
        orl     $4, PAE_PD0
        movl    $(PAE_PD1 + 3), PDPT64 + 8  /* supervisor-only: the alias */
        movl    $0x12345678, 0x23000
        movl    $0x9abcdef0, 0x23004
        movl    $PML4, %eax
        movl    %eax, %cr3
        movl    $0xc0000080, %ecx
        rdmsr
        orl     $0x100, %eax
        wrmsr
        movl    %cr0, %eax
        orl     $0x80000000, %eax
        movl    %eax, %cr0
        rdmsr
        SHOW32  "ia-32e efer="
        NL32
        GATE64  13, gp64
        GATE64  14, pf64
        movl    $0x9000, TSS64 + 4      /* RSP0 */
        movw    $0x38, %ax
        ltr     %ax
        ljmp    $0x18, $(ROM + long64)

        .code64
long64:
        lidt    idtr64(%rip)
        movabsq $0x0123456789abcdef, %rax
        movq    %rax, %rbx
        shlq    $4, %rbx
        addq    %rax, %rbx
        rorq    $8, %rbx
        movq    %rbx, %rax
        leaq    m_long(%rip), %rsi
        call    show64
        movq    qvalue(%rip), %rax
        leaq    m_rip(%rip), %rsi
        call    show64
        leaq    qvalue(%rip), %rax
        leaq    m_lea(%rip), %rsi
        call    show64
        call    nl64
        movabsq $0xffffff8000020000, %rbx
        movq    (%rbx), %rax
        leaq    m_high(%rip), %rsi
        call    show64
        movq    %rsp, %rax
        leaq    m_rsp(%rip), %rsi
        call    show64
        call    nl64
        movl    $(ROM + map_page3), FIXUP
        movl    $0, FIXUP + 4
        movl    $(ALIAS + 0x3000), %ebx
        movq    (%rbx), %rax
        leaq    m_restart(%rip), %rsi
        call    show64
        call    nl64

        /* User mode: STAR (SYSCALL CS 0x18, SYSRET base 0x20: CS 0x33, SS 0x2b), LSTAR, SFMASK, KERNEL_GS_BASE. */
        movl    $0xc0000081, %ecx
        xorl    %eax, %eax
        movl    $0x00200018, %edx
        wrmsr
        movl    $0xc0000082, %ecx
        leaq    syscall64(%rip), %rax
        movq    %rax, %rdx
        shrq    $32, %rdx
        wrmsr
        movl    $0xc0000084, %ecx
        movl    $0x200, %eax
        xorl    %edx, %edx
        wrmsr
        movl    $0xc0000102, %ecx
        movl    $0x2200, %eax
        wrmsr
        movabsq $0x1122334455667788, %rax
        movq    %rax, 0x2200
        movl    $0xc0000080, %ecx
        rdmsr
        orl     $1, %eax                /* SCE */
        wrmsr
        movl    $(ROM + make_user), FIXUP
        movl    $0, FIXUP + 4
        leaq    user64(%rip), %rcx
        movl    $0x2, %r11d
        movl    $0x7000, %esp
        sysretq

/* CPL 3. */
user64:
        movl    $1, %eax
        syscall
        movl    $(ALIAS + 0x3000), %ebx
        movq    (%rbx), %rbx            /* a supervisor page: #PF, the kernel lets users in, the read restarts */
        movl    $2, %eax
        syscall

/* SYSCALL: RCX is the user's RIP, R11 its RFLAGS; the stack is still the user's (a test kernel may). */
syscall64:
        swapgs
        movq    %gs:0, %r8
        swapgs
        cmpl    $2, %eax
        je      1f
        movq    %rcx, %rax
        leaq    m_sysrcx(%rip), %rsi
        call    show64
        movq    %r11, %rax
        leaq    m_sysr11(%rip), %rsi
        call    show64
        movq    %r8, %rax
        leaq    m_gs(%rip), %rsi
        call    show64
        movq    %rsp, %rax
        leaq    m_rsp(%rip), %rsi
        call    show64
        call    nl64
        sysretq
1:      movq    %rbx, %rax
        leaq    m_user(%rip), %rsi
        call    show64
        call    nl64
        leaq    bye(%rip), %rsi
        call    puts64
        movw    $0xf4, %dx
        movb    $0x11, %al
        outb    %al, %dx
1:      hlt
        jmp     1b

map_page3:
        movl    $0x23003, PAE_PT + 3 * 8
        invlpg  ALIAS + 0x3000
        ret
make_user:
        orl     $4, PDPT64 + 8
        orl     $4, PAE_PD1
        orl     $4, PAE_PT + 3 * 8
        invlpg  ALIAS + 0x3000
        ret

/* 64-bit #PF: the frame is error code, RIP, CS, RFLAGS, RSP, SS (above the two registers saved here). */
pf64:
        pushq   %rax
        pushq   %rsi
        movq    %cr2, %rax
        leaq    m_pf(%rip), %rsi
        call    show64
        movq    16(%rsp), %rax
        leaq    m_code(%rip), %rsi
        call    show64
        movq    24(%rsp), %rax
        leaq    m_ripf(%rip), %rsi
        call    show64
        movq    32(%rsp), %rax
        leaq    m_cs(%rip), %rsi
        call    show64
        movq    48(%rsp), %rax
        leaq    m_rsp(%rip), %rsi
        call    show64
        call    nl64
        call    *FIXUP
        popq    %rsi
        popq    %rax
        addq    $8, %rsp
        iretq
gp64:
        movq    (%rsp), %rax
        leaq    m_gp(%rip), %rsi
        call    show64
        call    nl64
        movw    $0xf4, %dx
        movb    $0x01, %al
        outb    %al, %dx
1:      hlt
        jmp     1b

putc64:
        pushq   %rdx
        movw    $0x402, %dx
        outb    %al, %dx
        popq    %rdx
        ret
puts64:
        movb    (%rsi), %al
        incq    %rsi
        testb   %al, %al
        jz      1f
        call    putc64
        jmp     puts64
1:      ret
/* show64: the string at %rsi, then %rax as 16 hex digits and a space. */
show64:
        pushq   %rax
        call    puts64
        popq    %rax
        pushq   %rax
        pushq   %rcx
        movl    $16, %ecx
1:      rolq    $4, %rax
        pushq   %rax
        andb    $0x0f, %al
        addb    $'0', %al
        cmpb    $'9', %al
        jbe     2f
        addb    $('a' - '9' - 1), %al
2:      call    putc64
        popq    %rax
        decl    %ecx
        jnz     1b
        movb    $' ', %al
        call    putc64
        popq    %rcx
        popq    %rax
        ret
nl64:
        movb    $'\n', %al
        jmp     putc64
        .code32

/* #PF: prints CR2, the error code and the faulting EIP, calls the repair routine, returns to the instruction. */
pf_handler:
        pushal
        movl    %cr2, %eax
        SHOW32  "#PF cr2="
        movl    32(%esp), %eax
        SHOW32  "code="
        movl    36(%esp), %eax
        SHOW32  "eip="
        NL32
        call    *FIXUP
        popal
        addl    $4, %esp
        iret
gp_handler:
        movl    (%esp), %eax
        SHOW32  "#GP code="
        movl    4(%esp), %eax
        SHOW32  "eip="
        NL32
        movw    $0xf4, %dx
        movb    $0x01, %al
        outb    %al, %dx
1:      hlt
        jmp     1b

map_page1:
        movl    $0x21003, PTA + 4
        ret
make_writable:
        orl     $2, PTA + 8
        invlpg  ALIAS + 0x2000
        ret
clear_xd:
        andl    $0x7fffffff, PAE_PT + 12
        invlpg  ALIAS + 0x1000
        ret
clear_rsvd:
        andl    $0xfff7ffff, PAE_PT + 20
        invlpg  ALIAS + 0x2000
        ret

        HELPERS 32

hello:  .asciz "paging: protected mode\n"
nx_ok:  .asciz "restarted; returned from the XD page "
bye:    .asciz "Bye.\n"
m_long: .asciz "long mode: 64-bit result="
m_rip:  .asciz "rip-relative="
m_lea:  .asciz "lea="
m_high: .asciz "high half="
m_rsp:  .asciz "rsp="
m_restart: .asciz "restarted; read="
m_pf:   .asciz "#PF cr2="
m_code: .asciz "code="
m_ripf: .asciz "rip="
m_cs:   .asciz "cs="
m_gp:   .asciz "#GP code="
m_sysrcx: .asciz "syscall rcx="
m_sysr11: .asciz "r11="
m_gs:   .asciz "swapgs gs:0="
m_user: .asciz "cpl3 read="
        .balign 8
qvalue: .quad  0xfedcba9876543210
idtr64: .word  0xff
        .quad  IDT64
        .balign 4
idtr:   .word  0x7f
        .long  0x1000
        .balign 8
gdt:    .quad  0
        .quad  0x00cf9b000000ffff       /* 0x08: 32-bit code, flat */
        .quad  0x00cf93000000ffff       /* 0x10: 32-bit data, flat */
        .quad  0x00af9b000000ffff       /* 0x18: 64-bit code (L) */
        .quad  0x00cf93000000ffff       /* 0x20: data (SYSCALL's SS) */
        .quad  0x00cff3000000ffff       /* 0x28: user data, DPL 3 */
        .quad  0x00affb000000ffff       /* 0x30: user 64-bit code, DPL 3 */
        .quad  0x0000890024000067       /* 0x38: 64-bit TSS at 0x2400 (16 bytes) */
        .quad  0
gdtr:   .word  0x47
        .long  ROM + gdt

        .code16
        .org    0xfff0
reset:
        ljmp    $0xf000, $_start
        .org    0x10000
