/*
 * busy-gic - interrupts made pending by an instruction: how many instructions later are
 * they taken?
 *
 * Each experiment makes an interrupt pending (or lets an already pending one through) with
 * one instruction, the trigger, and keeps computing: the trigger is followed by a window
 * of WINDOW single-cycle additions, and the handler turns ELR_EL1 (the instruction the
 * interrupt came before) into the number of window instructions that ran first. Under
 * QEMU with -icount every result is an exact instruction count; an emulator that looks at
 * its interrupt lines only now and then (at the end of a block or of a burst of
 * instructions) shows up here as "+N" with a larger N, or as "late" when the interrupt
 * came after the window. A negative result, "-N", means the interrupt was taken N
 * instructions before the trigger, while it was still masked.
 *
 * The triggers:
 *   - a GICD_SGIR store that sends SGI 1 to this CPU (eight times, a varying amount of
 *     computation apart);
 *   - msr daifclr, #2 with the SGI already pending (sent while PSTATE.I was set);
 *   - a GICC_PMR store that lowers the priority mask from 0 (nothing gets through) to
 *     0xff, with the SGI already pending;
 *   - a GICD_ISENABLER store that enables the virtual timer's INTID while the expired
 *     timer already holds its (level-triggered) line high;
 *   - msr cntv_ctl_el0 clearing IMASK of an expired timer;
 *   - msr cntv_cval_el0 with 0, a compare value already in the past;
 *   - msr cntv_tval_el0 with 0 to 31 counter ticks (under -icount shift=7 one instruction
 *     is 8 ticks, so these expire 0 to 4 instructions after the write: this shows the
 *     rounding of a deadline that falls between two instructions).
 *
 * Expected output under QEMU 7.2 with -icount shift=7 (sleep=on or off):
 *   busy-gic: instructions run after each trigger before its interrupt is taken
 *   GICD_SGIR store, SGI 1 to this CPU, 8 times: +0 +0 +0 +0 +0 +0 +0 +0
 *   SGI sent while PSTATE.I is set, then msr daifclr: +0
 *   SGI pending behind GICC_PMR = 0, then a GICC_PMR store of 0xff: +0
 *   expired timer at a disabled INTID, then a GICD_ISENABLER store: +0
 *   expired timer with CNTV_CTL.IMASK set, then msr cntv_ctl_el0 clearing it: +0
 *   msr cntv_cval_el0 with 0 (already expired): +0
 *   msr cntv_tval_el0 with 0..7: +0 +1 +1 +1 +1 +1 +1 +1
 *   msr cntv_tval_el0 with 8..15: +1 +2 +2 +2 +2 +2 +2 +2
 *   msr cntv_tval_el0 with 16..23: +2 +3 +3 +3 +3 +3 +3 +3
 *   msr cntv_tval_el0 with 24..31: +3 +4 +4 +4 +4 +4 +4 +4
 *   done: 45 interrupts
 * The TVAL lines: the write sets the deadline TVAL ticks after the counter as the msr
 * reads it, and the interrupt comes before the first instruction at which the counter
 * (8 ticks per instruction) has reached the deadline: after ceil(TVAL / 8) instructions.
 */
#include "gic.h"
#include "lib.h"

#define GICD_ISENABLER0  (VIRT_GICD_BASE + 0x100)
#define GICD_SGIR        (VIRT_GICD_BASE + 0xf00)
#define GICC_PMR         (VIRT_GICC_BASE + 0x004)
#define SGI_ID           1
#define SGI_TO_SELF      ((2u << 24) | SGI_ID) /* TargetListFilter 0b10: the requesting CPU */

/* CNTV_CTL_EL0 bits */
#define CTL_ENABLE   (1u << 0)
#define CTL_IMASK    (1u << 1)

#define BEFORE  16   /* additions before each trigger (the interrupt must not come there) */
#define WINDOW  64   /* additions after it */
#define STR(x)  #x
#define XSTR(x) STR(x)

/*
 * The triggers: BEFORE additions, the trigger instruction, the window label, WINDOW
 * additions, ret. They only touch x0-x2, which the caller does not expect to survive.
 */
void trig_store(uintptr_t reg, uint32_t value); /* str w1, [x0] */
void trig_unmask(void);                         /* msr daifclr, #2 */
void trig_cval(uint64_t cval);                  /* msr cntv_cval_el0, x0 */
void trig_tval(uint64_t tval);                  /* msr cntv_tval_el0, x0 */
void trig_ctl(uint64_t ctl);                    /* msr cntv_ctl_el0, x0 */
extern const uint32_t win_store[], win_unmask[], win_cval[], win_tval[], win_ctl[];

#define TRIGGER(name, insn)                                     \
    "   .text\n"                                                \
    "   .balign 4\n"                                            \
    "   .global trig_" #name "\n"                               \
    "   .type trig_" #name ", %function\n"                      \
    "trig_" #name ":\n"                                         \
    "   .rept " XSTR(BEFORE) "\n"                               \
    "   add x2, x2, #1\n"                                       \
    "   .endr\n"                                                \
    "   " insn "\n"                                             \
    "   .global win_" #name "\n"                                \
    "win_" #name ":\n"                                          \
    "   .rept " XSTR(WINDOW) "\n"                               \
    "   add x2, x2, #1\n"                                       \
    "   .endr\n"                                                \
    "   ret\n"                                                  \
    "   .size trig_" #name ", . - trig_" #name "\n"

__asm__(TRIGGER(store, "str w1, [x0]")
        TRIGGER(unmask, "msr daifclr, #2")
        TRIGGER(cval, "msr cntv_cval_el0, x0")
        TRIGGER(tval, "msr cntv_tval_el0, x0")
        TRIGGER(ctl, "msr cntv_ctl_el0, x0"));

#define LATE   1000  /* the interrupt came after the window */
#define NEVER  1001  /* it did not come at all */

static const uint32_t *volatile window; /* the window of the running experiment */
static volatile int result;             /* its result: instructions, LATE or NEVER */
static volatile unsigned taken;         /* interrupts taken so far */

static void on_irq(unsigned intid)
{
    int64_t d = ((int64_t)read_sysreg(elr_el1) - (int64_t)(uintptr_t)window) / 4;
    if (intid == INTID_VIRT_TIMER) {
        write_sysreg(cntv_ctl_el0, CTL_IMASK); /* lower the line: disabled, masked */
        isb();
    }
    result = d < -BEFORE ? -1000 : d <= WINDOW ? (int)d : LATE;
    taken++;
}

static uint64_t hash = 0x9e3779b97f4a7c15ull;

/* Some computation, of a length that depends on the data. */
static void compute(void)
{
    unsigned n = 8 + (unsigned)(hash >> 58);
    for (unsigned i = 0; i < n; i++) {
        hash = hash * 6364136223846793005ull + 1442695040888963407ull;
        hash ^= hash >> 29;
    }
}

/* Before a trigger: the window it is followed by, and no result yet. */
static void expect(const uint32_t *win)
{
    window = win;
    result = NEVER;
}

/* After it: computes until the interrupt has come (or long enough to say it never will). */
static void wait_taken(unsigned before)
{
    for (unsigned i = 0; taken == before && i < 10000; i++)
        compute();
}

static void print_result(void)
{
    int r = result;
    if (r == LATE)
        print(" late");
    else if (r == NEVER)
        print(" never");
    else if (r == -1000)
        print(" early");
    else
        printf(" %c%d", r < 0 ? '-' : '+', r < 0 ? -r : r);
}

/* Runs `trigger` expecting its interrupt after `win`, and prints the result. */
#define EXPERIMENT(win, trigger)        \
    do {                                \
        unsigned before_ = taken;       \
        expect(win);                    \
        trigger;                        \
        wait_taken(before_);            \
        print_result();                 \
    } while (0)

/* Arms the timer far in the future (so that enabling it raises nothing yet). */
static void timer_far(uint32_t ctl)
{
    write_sysreg(cntv_tval_el0, 0x7fffffff);
    write_sysreg(cntv_ctl_el0, ctl);
    isb();
}

int main(void)
{
    print("busy-gic: instructions run after each trigger before its interrupt is taken\n");

    gic_init();
    gic_enable_irq(SGI_ID, 0x80, on_irq);
    gic_enable_irq(INTID_VIRT_TIMER, 0x80, on_irq);
    irq_enable();

    print("GICD_SGIR store, SGI 1 to this CPU, 8 times:");
    for (int i = 0; i < 8; i++) {
        compute();
        EXPERIMENT(win_store, trig_store(GICD_SGIR, SGI_TO_SELF));
    }
    print("\n");

    print("SGI sent while PSTATE.I is set, then msr daifclr:");
    irq_disable();
    mmio_write32(GICD_SGIR, SGI_TO_SELF);
    compute();
    EXPERIMENT(win_unmask, trig_unmask());
    print("\n");

    print("SGI pending behind GICC_PMR = 0, then a GICC_PMR store of 0xff:");
    mmio_write32(GICC_PMR, 0);
    mmio_write32(GICD_SGIR, SGI_TO_SELF);
    compute();
    EXPERIMENT(win_store, trig_store(GICC_PMR, 0xff));
    print("\n");

    print("expired timer at a disabled INTID, then a GICD_ISENABLER store:");
    gic_disable_irq(INTID_VIRT_TIMER);
    timer_far(CTL_ENABLE);
    write_sysreg(cntv_cval_el0, 0);
    isb();
    compute();
    EXPERIMENT(win_store, trig_store(GICD_ISENABLER0, 1u << INTID_VIRT_TIMER));
    print("\n");

    print("expired timer with CNTV_CTL.IMASK set, then msr cntv_ctl_el0 clearing it:");
    timer_far(CTL_ENABLE | CTL_IMASK);
    write_sysreg(cntv_cval_el0, 0);
    isb();
    compute();
    EXPERIMENT(win_ctl, trig_ctl(CTL_ENABLE));
    print("\n");

    print("msr cntv_cval_el0 with 0 (already expired):");
    timer_far(CTL_ENABLE);
    compute();
    EXPERIMENT(win_cval, trig_cval(0));
    print("\n");

    for (unsigned first = 0; first < 32; first += 8) {
        printf("msr cntv_tval_el0 with %u..%u:", first, first + 7);
        for (unsigned t = first; t < first + 8; t++) {
            timer_far(CTL_ENABLE);
            compute();
            EXPERIMENT(win_tval, trig_tval(t));
        }
        print("\n");
    }

    gic_disable_irq(INTID_VIRT_TIMER);
    gic_disable_irq(SGI_ID);
    printf("done: %u interrupts\n", taken);
    return EXIT_OK;
}
