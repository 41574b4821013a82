/*
 * ticks - timer interrupts: the EL1 virtual timer through the GICv2, ten times a second.
 *
 * The architected timer's virtual instance (CNTV_*) raises PPI 11, which the GIC
 * presents as INTID 27. The handler moves the compare value one interval further
 * (which also lowers the level-triggered interrupt) and counts; main() sleeps in WFI
 * between ticks and prints "tick N". Deadlines are absolute (previous deadline +
 * interval), so the ticks do not drift however late the handler runs.
 *
 * Expected output:
 *   ticks: virtual timer, CNTFRQ_EL0 = 62500000 Hz, one tick every 6250000 counts (100 ms)
 *   tick 1
 *   ...
 *   tick 10
 *   done: 10 ticks
 */
#include "gic.h"
#include "lib.h"

#define TICKS          10
#define TICKS_PER_SEC  10

/* CNTV_CTL_EL0 bits */
#define CTL_ENABLE   (1u << 0)
#define CTL_IMASK    (1u << 1)

static uint64_t interval;           /* counter ticks between timer interrupts */
static uint64_t deadline;           /* the compare value currently programmed */
static volatile unsigned ticks;     /* written by the IRQ handler, read by main() */

static void timer_irq(unsigned intid)
{
    (void)intid;
    ticks++;
    if (ticks < TICKS) {
        deadline += interval;
        write_sysreg(cntv_cval_el0, deadline);
    } else {
        write_sysreg(cntv_ctl_el0, CTL_IMASK); /* stop: disabled, and masked for good measure */
    }
    isb(); /* the timer sees the new compare value before the GIC is told we are done */
}

/*
 * Sleeps until `ticks` differs from `seen`. Interrupts are masked while we test the
 * condition: otherwise the tick could arrive between the test and the WFI, and we would
 * sleep through it. WFI still wakes up for a masked pending interrupt; unmasking then
 * lets it be taken.
 */
static void wait_for_tick(unsigned seen)
{
    irq_disable();
    while (ticks == seen) {
        wfi();
        irq_enable();
        irq_disable();
    }
    irq_enable();
}

int main(void)
{
    uint64_t freq = read_sysreg(cntfrq_el0);
    if (freq == 0)
        panic("CNTFRQ_EL0 is 0: the firmware/emulator did not set the counter frequency");
    interval = freq / TICKS_PER_SEC;
    printf("ticks: virtual timer, CNTFRQ_EL0 = %lu Hz, one tick every %lu counts (%u ms)\n",
           freq, interval, 1000 / TICKS_PER_SEC);

    gic_init();
    gic_enable_irq(INTID_VIRT_TIMER, 0x80, timer_irq);

    isb();
    deadline = read_sysreg(cntvct_el0) + interval;
    write_sysreg(cntv_cval_el0, deadline);
    write_sysreg(cntv_ctl_el0, CTL_ENABLE);
    irq_enable();

    for (unsigned n = 1; n <= TICKS; n++) {
        wait_for_tick(n - 1);
        /* The interrupt must not come early: the counter has passed the deadline of tick n. */
        isb();
        uint64_t now = read_sysreg(cntvct_el0);
        uint64_t due = deadline - (n < TICKS ? interval : 0);
        if (now < due)
            panic("tick %u came early: counter %lu < deadline %lu", n, now, due);
        printf("tick %u\n", n);
    }

    gic_disable_irq(INTID_VIRT_TIMER);
    printf("done: %u ticks\n", ticks);
    return EXIT_OK;
}
