/*
 * selfdebug.c - the guest's own debug hardware (Arm ARM D2, "AArch64 Self-hosted Debug"):
 * hardware breakpoints (DBGBVR/DBGBCR), watchpoints (DBGWVR/DBGWCR) and software step
 * (MDSCR_EL1.SS with SPSR.SS), armed from EL1 and taken from EL1 and EL0.
 *
 * Each test arms something, runs a little code and prints every debug exception it took:
 * ESR, FAR, ELR (as an offset from the test code where that reads better) and SPSR.SS.
 * Each test also prints the counter ticks it took (CNTVCT_EL0; with -icount shift=7, 8 ticks per
 * instruction): the instructions counted for the debug exceptions themselves show there (QEMU
 * counts none for a breakpoint or watchpoint exception, which execute nothing).
 * The output is an oracle: QEMU (-cpu cortex-a53) and Rewind must print the same bytes.
 * The tests follow kvm-unit-tests' arm/debug.c (bp, wp, ss) and add the filters (EL, load /
 * store, byte select, mask, KDE, PSTATE.D) and the interactions (a breakpoint, watchpoint,
 * SVC or BRK on a stepped instruction).
 *
 * The exceptions come to this file's own vector table, which returns from them (start.S's
 * table reports every synchronous exception as unexpected). EL0 code runs with the MMU off
 * (flat, every access Device memory, so everything stays aligned) through run_el0(), and
 * leaves EL0 again with `svc #0xff`.
 *
 * Not tested here, because QEMU 7.2 differs from the architecture: the OS lock. QEMU resets
 * it set (OSLSR_EL1 = 0xa), as the Cortex-A53 does, but 7.2 never lets it disable debug
 * exceptions; the tests clear it first, as Linux does at boot.
 */
#include "lib.h"

#define MDSCR_SS  (1u << 0)
#define MDSCR_KDE (1u << 13)
#define MDSCR_MDE (1u << 15)
#define SPSR_SS   (1ul << 21)
#define SPSR_D    (1ul << 9)

/* DBGBCR/DBGWCR fields. */
#define CR_E          1u
#define CR_EL1        (1u << 1)  /* PMC/PAC bit 0: match at EL1 */
#define CR_EL0        (2u << 1)  /* PMC/PAC bit 1: match at EL0 */
#define BCR_BAS_A64   (0xfu << 5)
#define BCR_LINKED    (1u << 20) /* BT = 0b0001: linked address match */
#define BCR_CTX       (3u << 20) /* BT = 0b0011: linked CONTEXTIDR match */
#define BCR_LBN(n)    ((unsigned)(n) << 16)
#define WCR_LOAD      (1u << 3)
#define WCR_STORE     (2u << 3)
#define WCR_BAS(b)    ((unsigned)(b) << 5)
#define WCR_MASK(m)   ((unsigned)(m) << 24)

struct frame {
    uint64_t x[31];
    uint64_t sp;
    uint64_t elr;
    uint64_t spsr;
};

struct event {
    uint64_t esr, far, elr, spsr;
};

#define MAX_EVENTS 64
static struct event events[MAX_EVENTS];
static unsigned nevents;
/* Software step: how many step exceptions to continue from (each returns with SPSR.SS = 1). */
static unsigned steps_left;
/* The code the ELRs are printed relative to. */
static uint64_t code_base;
/* The counter when the test began. */
static uint64_t t_last;

/* Watched data: 64-byte aligned so that MASK covers it exactly. */
static volatile uint64_t wdata[16] __attribute__((aligned(64)));

void run_el0(void (*fn)(void), uint64_t spsr);
void exception_unexpected(unsigned vector, void *frame) __attribute__((noreturn));

/* Vector table and EL0 entry/exit (the frame layout is struct frame, 288 bytes). */
__asm__(
    ".section .text.sdvectors, \"ax\"\n"
    ".macro sd_entry index\n"
    "  .balign 0x80\n"
    "  sub sp, sp, #288\n"
    "  stp x0, x1, [sp, #0]\n"
    "  mov x0, #\\index\n"
    "  b sd_common\n"
    ".endm\n"
    ".balign 0x800\n"
    ".global sd_vectors\n"
    "sd_vectors:\n"
    "  sd_entry 0\n  sd_entry 1\n  sd_entry 2\n  sd_entry 3\n"
    "  sd_entry 4\n  sd_entry 5\n  sd_entry 6\n  sd_entry 7\n"
    "  sd_entry 8\n  sd_entry 9\n  sd_entry 10\n  sd_entry 11\n"
    "  sd_entry 12\n  sd_entry 13\n  sd_entry 14\n  sd_entry 15\n"
    "sd_common:\n"
    "  stp x2, x3, [sp, #16]\n  stp x4, x5, [sp, #32]\n  stp x6, x7, [sp, #48]\n"
    "  stp x8, x9, [sp, #64]\n  stp x10, x11, [sp, #80]\n  stp x12, x13, [sp, #96]\n"
    "  stp x14, x15, [sp, #112]\n  stp x16, x17, [sp, #128]\n  stp x18, x19, [sp, #144]\n"
    "  stp x20, x21, [sp, #160]\n  stp x22, x23, [sp, #176]\n  stp x24, x25, [sp, #192]\n"
    "  stp x26, x27, [sp, #208]\n  stp x28, x29, [sp, #224]\n"
    "  add x1, sp, #288\n  stp x30, x1, [sp, #240]\n"
    "  mrs x1, elr_el1\n  mrs x2, spsr_el1\n  stp x1, x2, [sp, #256]\n"
    "  mov x1, sp\n"
    "  bl sd_sync\n"
    "  cbnz x0, 1f\n"
    "  ldp x1, x2, [sp, #256]\n  msr elr_el1, x1\n  msr spsr_el1, x2\n"
    "  ldp x2, x3, [sp, #16]\n  ldp x4, x5, [sp, #32]\n  ldp x6, x7, [sp, #48]\n"
    "  ldp x8, x9, [sp, #64]\n  ldp x10, x11, [sp, #80]\n  ldp x12, x13, [sp, #96]\n"
    "  ldp x14, x15, [sp, #112]\n  ldp x16, x17, [sp, #128]\n  ldp x18, x19, [sp, #144]\n"
    "  ldp x20, x21, [sp, #160]\n  ldp x22, x23, [sp, #176]\n  ldp x24, x25, [sp, #192]\n"
    "  ldp x26, x27, [sp, #208]\n  ldp x28, x29, [sp, #224]\n  ldr x30, [sp, #240]\n"
    "  ldp x0, x1, [sp, #0]\n"
    "  add sp, sp, #288\n"
    "  eret\n"
    /* svc #0xff from EL0: back to run_el0's caller, on the stack run_el0 left. */
    "1:add sp, sp, #288\n"
    "  b run_el0_return\n"
    "\n"
    ".text\n"
    ".global run_el0\n"
    "run_el0:\n"                      /* x0 = EL0 code, x1 = SPSR to enter it with */
    "  stp x29, x30, [sp, #-96]!\n"
    "  stp x19, x20, [sp, #16]\n  stp x21, x22, [sp, #32]\n  stp x23, x24, [sp, #48]\n"
    "  stp x25, x26, [sp, #64]\n  stp x27, x28, [sp, #80]\n"
    "  msr elr_el1, x0\n  msr spsr_el1, x1\n"
    "  adrp x2, el0_stack_top\n  add x2, x2, :lo12:el0_stack_top\n  msr sp_el0, x2\n"
    "  adr x30, el0_exit\n"
    "  mov x0, #0\n"
    "  eret\n"
    "el0_exit:\n"
    "  svc #0xff\n"
    "run_el0_return:\n"
    "  ldp x19, x20, [sp, #16]\n  ldp x21, x22, [sp, #32]\n  ldp x23, x24, [sp, #48]\n"
    "  ldp x25, x26, [sp, #64]\n  ldp x27, x28, [sp, #80]\n"
    "  ldp x29, x30, [sp], #96\n"
    "  ret\n"
    ".bss\n"
    ".balign 16\n"
    "  .skip 4096\n"
    "el0_stack_top:\n"
    ".text\n");

/* ---- The code under test, in assembly so that every instruction is known. ---- */

void bp_target(void);   /* nop; nop; nop; ret */
void el0_store(void);   /* x0 = 0: stores to wdata[1] (x9 = &wdata[1] via adrp), loads wdata[0] */
void el0_steps(void);   /* the stepped EL0 sequence */
void el1_steps(void);   /* the stepped EL1 sequence, between svc #2 and svc #3 */
void sttr_store(volatile uint64_t *p);

__asm__(
    ".text\n"
    ".balign 16\n"
    ".global bp_target\n"
    "bp_target:\n"
    "  nop\n  nop\n  nop\n  ret\n"
    ".global el0_store\n"
    "el0_store:\n"
    "  adrp x9, wdata\n  add x9, x9, :lo12:wdata\n"
    "  mov x10, #0x55\n"
    "  str x10, [x9, #8]\n"
    "  ldr x11, [x9]\n"
    "  ret\n"
    ".global el0_steps\n"
    "el0_steps:\n"
    "  adrp x9, wdata\n"            /* +0x00 */
    "  add x9, x9, :lo12:wdata\n"   /* +0x04 */
    "  mov x10, #1\n"               /* +0x08  breakpoint here in the combined test */
    "  b 1f\n"                      /* +0x0c */
    "  nop\n"                       /* +0x10  skipped */
    "1:str x10, [x9, #16]\n"        /* +0x14  watched in the combined test */
    "  ldxr x11, [x9]\n"            /* +0x18  ESR.EX = 1 on its step */
    "  clrex\n"                     /* +0x1c */
    "  svc #1\n"                    /* +0x20  stepped: SPSR.SS = 0, then a step with ISV = 0 */
    "  brk #7\n"                    /* +0x24  not stepped: SPSR.SS = 1, the handler skips it */
    "  add x10, x10, #1\n"          /* +0x28 */
    "  ret\n"                       /* +0x2c */
    ".global el1_steps\n"
    "el1_steps:\n"
    "  svc #2\n"                    /* +0x00  the handler starts the step (SPSR.SS = 1, D = 0) */
    "  mov x0, #3\n"                /* +0x04 */
    "  add x0, x0, #4\n"            /* +0x08 */
    "  cbz x0, 1f\n"                /* +0x0c */
    "  mov x1, #5\n"                /* +0x10 */
    "1:svc #3\n"                    /* +0x14  the handler stops it */
    "  ret\n"                       /* +0x18 */
    ".global sttr_store\n"
    "sttr_store:\n"
    "  mov x1, #0x77\n"
    "  sttr x1, [x0]\n"
    "  ret\n");

/* ---- The exception handler ---- */

static void disable_breakpoints_at(uint64_t pc)
{
    /* Only the breakpoint(s) at this address: others armed stay armed. */
    if (read_sysreg(dbgbvr0_el1) == pc) write_sysreg(dbgbcr0_el1, 0);
    if (read_sysreg(dbgbvr1_el1) == pc) write_sysreg(dbgbcr1_el1, 0);
    if (read_sysreg(dbgbvr2_el1) == pc) write_sysreg(dbgbcr2_el1, 0);
    if (read_sysreg(dbgbvr3_el1) == pc) write_sysreg(dbgbcr3_el1, 0);
}

static void disable_watchpoints(void)
{
    write_sysreg(dbgwcr0_el1, 0);
    write_sysreg(dbgwcr1_el1, 0);
    write_sysreg(dbgwcr2_el1, 0);
    write_sysreg(dbgwcr3_el1, 0);
}

static void disable_all(void)
{
    write_sysreg(dbgbcr0_el1, 0);
    write_sysreg(dbgbcr1_el1, 0);
    write_sysreg(dbgbcr2_el1, 0);
    write_sysreg(dbgbcr3_el1, 0);
    write_sysreg(dbgbcr4_el1, 0);
    write_sysreg(dbgbcr5_el1, 0);
    disable_watchpoints();
    write_sysreg(mdscr_el1, 0);
    isb();
}

/* Returns 1 to leave EL0 (svc #0xff), 0 to return from the exception. */
uint64_t sd_sync(uint64_t vector, struct frame *f)
{
    uint64_t esr = read_sysreg(esr_el1);
    unsigned ec = (unsigned)(esr >> 26) & 0x3f;

    if (vector != 4 && vector != 8)
        exception_unexpected((unsigned)vector, (void *)f);
    if (ec == 0x15 && (esr & 0xffff) == 0xff)
        return 1;
    if (nevents < MAX_EVENTS) {
        struct event *e = &events[nevents++];
        e->esr = esr;
        e->far = ec == 0x30 || ec == 0x31 || ec == 0x34 || ec == 0x35 ? read_sysreg(far_el1) : 0;
        e->elr = f->elr;
        e->spsr = f->spsr;
    }
    switch (ec) {
    case 0x30: /* breakpoint, from EL0 */
    case 0x31: /* breakpoint, from EL1 */
        disable_breakpoints_at(f->elr);
        break;
    case 0x34: /* watchpoint */
    case 0x35:
        disable_watchpoints();
        break;
    case 0x32: /* software step */
    case 0x33:
        if (steps_left > 0) {
            steps_left--;
            f->spsr |= SPSR_SS;
        } else {
            write_sysreg(mdscr_el1, read_sysreg(mdscr_el1) & ~MDSCR_SS);
        }
        break;
    case 0x15: /* SVC */
        if ((esr & 0xffff) == 2) {           /* start stepping EL1 code */
            f->spsr = (f->spsr | SPSR_SS) & ~SPSR_D;
        } else if ((esr & 0xffff) == 3) {    /* stop */
            write_sysreg(mdscr_el1, read_sysreg(mdscr_el1) & ~MDSCR_SS);
            f->spsr &= ~SPSR_SS;
        }
        break;
    case 0x3c: /* BRK: skip it */
        f->elr += 4;
        break;
    default:
        exception_unexpected((unsigned)vector, (void *)f);
    }
    isb();
    return 0;
}

/* ---- Reporting ---- */

static void begin(const char *name, uint64_t base)
{
    printf("%s\n", name);
    t_last = read_sysreg(cntvct_el0);
    nevents = 0;
    code_base = base;
}


static void report(void)
{
    uint64_t now = read_sysreg(cntvct_el0);
    printf("  [ticks %lu]\n", now - t_last);
    if (nevents == 0)
        printf("  no exception\n");
    for (unsigned i = 0; i < nevents; i++) {
        struct event *e = &events[i];
        uint64_t off = e->elr - code_base;
        printf("  ec 0x%02x iss 0x%07lx il %lu  elr ", (unsigned)(e->esr >> 26) & 0x3f,
               e->esr & 0x1ffffff, (e->esr >> 25) & 1);
        if (off < 0x100)
            printf("+0x%02lx", off);
        else
            printf("0x%lx", e->elr);
        printf("  far ");
        if (e->far >= (uint64_t)wdata && e->far < (uint64_t)wdata + sizeof wdata)
            printf("wdata+%lu", e->far - (uint64_t)wdata);
        else
            printf("0x%lx", e->far);
        printf("  spsr.ss %lu el %lu\n", (e->spsr >> 21) & 1, (e->spsr >> 2) & 3);
    }
    disable_all();
}

static void debug_on(uint32_t mdscr)
{
    write_sysreg(mdscr_el1, mdscr);
    isb();
    __asm__ volatile("msr daifclr, #8" ::: "memory");
}

static void debug_masked(void)
{
    __asm__ volatile("msr daifset, #8" ::: "memory");
}

static void call_bp_target(void)
{
    bp_target();
}

static void set_bp(int n, uint64_t addr, uint32_t bcr)
{
    switch (n) {
    case 0: write_sysreg(dbgbvr0_el1, addr); write_sysreg(dbgbcr0_el1, bcr); break;
    case 1: write_sysreg(dbgbvr1_el1, addr); write_sysreg(dbgbcr1_el1, bcr); break;
    case 4: write_sysreg(dbgbvr4_el1, addr); write_sysreg(dbgbcr4_el1, bcr); break;
    }
    isb();
}

static void set_wp(int n, uint64_t addr, uint32_t wcr)
{
    switch (n) {
    case 0: write_sysreg(dbgwvr0_el1, addr); write_sysreg(dbgwcr0_el1, wcr); break;
    case 1: write_sysreg(dbgwvr1_el1, addr); write_sysreg(dbgwcr1_el1, wcr); break;
    }
    isb();
}

/* ---- Tests ---- */

static void test_registers(void)
{
    printf("OSLSR_EL1 at reset: 0x%lx\n", read_sysreg(oslsr_el1));
    write_sysreg(oslar_el1, 0);
    isb();
    printf("OSLSR_EL1 after OSLAR_EL1 = 0: 0x%lx\n", read_sysreg(oslsr_el1));
    printf("ID_AA64DFR0_EL1: 0x%lx\n", read_sysreg(id_aa64dfr0_el1));
    printf("MDSCR_EL1 at reset: 0x%lx\n", read_sysreg(mdscr_el1));
    /* BAS[1] and BAS[3] copy BAS[0] and BAS[2]; DBGWVR[1:0] are RES0. */
    write_sysreg(dbgbcr2_el1, 0x0a0u);
    write_sysreg(dbgwvr2_el1, 0x40001237ul);
    write_sysreg(dbgbvr2_el1, 0x40001234ul);
    printf("DBGBCR2 written 0xa0 reads 0x%lx; DBGWVR2 written 0x40001237 reads 0x%lx; DBGBVR2 0x%lx\n",
           read_sysreg(dbgbcr2_el1), read_sysreg(dbgwvr2_el1), read_sysreg(dbgbvr2_el1));
    write_sysreg(dbgbcr2_el1, 0);
    write_sysreg(dbgwvr2_el1, 0);
    write_sysreg(dbgbvr2_el1, 0);
}

static void test_breakpoints(void)
{
    uint64_t t = (uint64_t)bp_target;

    begin("bp: EL1, PMC=EL1, MDE+KDE, D clear (ELR = the instruction, FAR 0)", t);
    set_bp(0, t + 4, CR_E | CR_EL1 | BCR_BAS_A64);
    debug_on(MDSCR_MDE | MDSCR_KDE);
    call_bp_target();
    report();

    begin("bp: two at once, EL0+EL1", t);
    set_bp(0, t + 8, CR_E | CR_EL1 | CR_EL0 | BCR_BAS_A64);
    set_bp(1, t, CR_E | CR_EL1 | CR_EL0 | BCR_BAS_A64);
    debug_on(MDSCR_MDE | MDSCR_KDE);
    call_bp_target();
    report();

    begin("bp: PMC=EL0 only, executed at EL1", t);
    set_bp(0, t, CR_E | CR_EL0 | BCR_BAS_A64);
    debug_on(MDSCR_MDE | MDSCR_KDE);
    call_bp_target();
    report();

    begin("bp: KDE clear (no debug exceptions at EL1)", t);
    set_bp(0, t, CR_E | CR_EL1 | BCR_BAS_A64);
    debug_on(MDSCR_MDE);
    call_bp_target();
    report();

    begin("bp: PSTATE.D set", t);
    set_bp(0, t, CR_E | CR_EL1 | BCR_BAS_A64);
    debug_on(MDSCR_MDE | MDSCR_KDE);
    debug_masked();
    call_bp_target();
    report();

    begin("bp: MDE clear", t);
    set_bp(0, t, CR_E | CR_EL1 | BCR_BAS_A64);
    debug_on(MDSCR_KDE);
    call_bp_target();
    report();

    begin("bp: BAS 0b1100 (second halfword: no A64 instruction)", t);
    set_bp(0, t + 4, CR_E | CR_EL1 | (0xcu << 5));
    debug_on(MDSCR_MDE | MDSCR_KDE);
    call_bp_target();
    report();

    begin("bp: linked to a CONTEXTIDR breakpoint, matching", t);
    write_sysreg(contextidr_el1, 0x1234);
    set_bp(4, 0x1234, CR_E | CR_EL1 | BCR_BAS_A64 | BCR_CTX);
    set_bp(0, t + 4, CR_E | CR_EL1 | BCR_BAS_A64 | BCR_LINKED | BCR_LBN(4));
    debug_on(MDSCR_MDE | MDSCR_KDE);
    call_bp_target();
    report();

    begin("bp: linked to a CONTEXTIDR breakpoint, not matching", t);
    set_bp(4, 0x4321, CR_E | CR_EL1 | BCR_BAS_A64 | BCR_CTX);
    set_bp(0, t + 4, CR_E | CR_EL1 | BCR_BAS_A64 | BCR_LINKED | BCR_LBN(4));
    debug_on(MDSCR_MDE | MDSCR_KDE);
    call_bp_target();
    report();
    write_sysreg(contextidr_el1, 0);

    begin("bp: EL0, PMC=EL0, KDE clear (EL0 is debugged from EL1 regardless)", t);
    set_bp(0, t + 8, CR_E | CR_EL0 | BCR_BAS_A64);
    debug_on(MDSCR_MDE);
    run_el0(bp_target, 0);
    report();

    begin("bp: EL0, PMC=EL1 only", t);
    set_bp(0, t + 8, CR_E | CR_EL1 | BCR_BAS_A64);
    debug_on(MDSCR_MDE);
    run_el0(bp_target, 0);
    report();
}

static void store8(volatile uint64_t *p, uint64_t v) { *p = v; }
static uint64_t load8(volatile uint64_t *p) { return *p; }
static void store1(volatile uint64_t *p, unsigned off, uint8_t v) { ((volatile uint8_t *)p)[off] = v; }
static void store4(volatile uint64_t *p, unsigned off, uint32_t v) { ((volatile uint32_t *)p)[off / 4] = v; }

static void test_watchpoints(void)
{
    uint64_t w = (uint64_t)wdata;
    uint64_t base = (uint64_t)store8;

    begin("wp: store, LSC=store, 8 bytes", base);
    set_wp(0, w + 8, CR_E | CR_EL1 | WCR_STORE | WCR_BAS(0xff));
    debug_on(MDSCR_MDE | MDSCR_KDE);
    store8(&wdata[1], 1);
    report();

    begin("wp: load, LSC=load+store", base);
    set_wp(0, w + 8, CR_E | CR_EL1 | WCR_LOAD | WCR_STORE | WCR_BAS(0xff));
    debug_on(MDSCR_MDE | MDSCR_KDE);
    (void)load8(&wdata[1]);
    report();

    begin("wp: store with LSC=load only", base);
    set_wp(0, w + 8, CR_E | CR_EL1 | WCR_LOAD | WCR_BAS(0xff));
    debug_on(MDSCR_MDE | MDSCR_KDE);
    store8(&wdata[1], 2);
    report();

    begin("wp: BAS bytes 2-3; byte stores at +3 and +4", base);
    set_wp(0, w, CR_E | CR_EL1 | WCR_STORE | WCR_BAS(0x0c));
    debug_on(MDSCR_MDE | MDSCR_KDE);
    store1(wdata, 4, 9);
    store1(wdata, 3, 9);
    report();

    begin("wp: BAS bytes 4-5, an 8-byte store over them (FAR = first watched byte)", base);
    set_wp(0, w, CR_E | CR_EL1 | WCR_STORE | WCR_BAS(0x30));
    debug_on(MDSCR_MDE | MDSCR_KDE);
    store8(&wdata[0], 3);
    report();

    begin("wp: word-aligned WVR (bit 2 set), BAS[3:0] = 0b0011", base);
    set_wp(0, w + 12, CR_E | CR_EL1 | WCR_STORE | WCR_BAS(0x03));
    debug_on(MDSCR_MDE | MDSCR_KDE);
    store4(wdata, 8, 4);
    store4(wdata, 12, 4);
    report();

    begin("wp: MASK 5 (32 bytes); stores at +32 and +24", base);
    set_wp(1, w, CR_E | CR_EL1 | WCR_STORE | WCR_BAS(0xff) | WCR_MASK(5));
    debug_on(MDSCR_MDE | MDSCR_KDE);
    store8(&wdata[4], 5);
    store8(&wdata[3], 5);
    report();

    begin("wp: KDE clear at EL1", base);
    set_wp(0, w + 8, CR_E | CR_EL1 | WCR_STORE | WCR_BAS(0xff));
    debug_on(MDSCR_MDE);
    store8(&wdata[1], 6);
    report();

    begin("wp: STTR at EL1 is an EL0 access (PAC=EL0)", (uint64_t)sttr_store);
    set_wp(0, w + 8, CR_E | CR_EL0 | WCR_STORE | WCR_BAS(0xff));
    debug_on(MDSCR_MDE | MDSCR_KDE);
    sttr_store(&wdata[1]);
    report();

    begin("wp: EL0 store and load, PAC=EL0, KDE clear", (uint64_t)el0_store);
    set_wp(0, w + 8, CR_E | CR_EL0 | WCR_STORE | WCR_BAS(0xff));
    set_wp(1, w, CR_E | CR_EL0 | WCR_LOAD | WCR_BAS(0xff));
    debug_on(MDSCR_MDE);
    run_el0(el0_store, 0);
    report();

    begin("wp: EL0 store, PAC=EL1 only", (uint64_t)el0_store);
    set_wp(0, w + 8, CR_E | CR_EL1 | WCR_STORE | WCR_BAS(0xff));
    debug_on(MDSCR_MDE);
    run_el0(el0_store, 0);
    report();
    printf("wdata: %lx %lx %lx %lx %lx\n", wdata[0], wdata[1], wdata[2], wdata[3], wdata[4]);
}

static void test_step(void)
{
    uint64_t s0 = (uint64_t)el0_steps;

    begin("ss: EL0 from ERET with SPSR.SS = 1 (svc and brk on the way)", s0);
    steps_left = 100;
    debug_on(MDSCR_SS);
    run_el0(el0_steps, SPSR_SS);
    report();

    begin("ss: EL0, one step only (the handler returns with SPSR.SS = 0)", s0);
    steps_left = 0;
    debug_on(MDSCR_SS);
    run_el0(el0_steps, SPSR_SS);
    report();

    begin("ss: EL0, ERET with SPSR.SS = 0 (active-pending: a step before the first instruction)", s0);
    steps_left = 1;
    debug_on(MDSCR_SS);
    run_el0(el0_steps, 0);
    report();

    begin("ss: EL0 with a breakpoint and a watchpoint on stepped instructions", s0);
    steps_left = 100;
    set_bp(0, s0 + 8, CR_E | CR_EL0 | BCR_BAS_A64);
    set_wp(0, (uint64_t)wdata + 16, CR_E | CR_EL0 | WCR_STORE | WCR_BAS(0xff));
    debug_on(MDSCR_SS | MDSCR_MDE);
    run_el0(el0_steps, SPSR_SS);
    report();

    begin("ss: EL1 with KDE, started by an ERET from the handler", (uint64_t)el1_steps);
    steps_left = 100;
    debug_masked();
    write_sysreg(mdscr_el1, MDSCR_SS | MDSCR_KDE);
    isb();
    el1_steps();
    debug_masked();
    report();

    begin("ss: EL1, PSTATE.D cleared while stepping is enabled (active-pending)", 0);
    steps_left = 0;
    debug_masked();
    write_sysreg(mdscr_el1, MDSCR_SS | MDSCR_KDE);
    isb();
    __asm__ volatile("msr daifclr, #8\n nop\n nop" ::: "memory");
    debug_masked();
    /* ELR is printed as an address; it is the instruction after the MSR. */
    report();
}

int main(void)
{
    /* Our own vectors: debug exceptions return. */
    extern char sd_vectors[];
    write_sysreg(vbar_el1, (uint64_t)sd_vectors);
    isb();
    printf("selfdebug: breakpoints, watchpoints and software step\n");
    test_registers();
    test_breakpoints();
    test_watchpoints();
    test_step();
    debug_masked();
    printf("done\n");
    return 0;
}
