/*
 * gic.h - just enough of the GICv2 interrupt controller for the demo guests.
 *
 * QEMU's virt board (with the default gic-version=2) has a GICv2 without the Security
 * Extensions: every interrupt is in group 0 and is signalled to the CPU as an IRQ.
 */
#ifndef REWIND_GUEST_GIC_H
#define REWIND_GUEST_GIC_H

typedef void (*irq_handler_fn)(unsigned intid);

/* Enables the distributor and this CPU's interface and lets every priority through. */
void gic_init(void);

/*
 * Routes `intid` to this CPU, sets its priority and enables it; `handler` runs in IRQ
 * context (interrupts masked) and must clear the interrupt's source before returning
 * if it is level-triggered. Lower priority values are more urgent.
 */
void gic_enable_irq(unsigned intid, unsigned priority, irq_handler_fn handler);

/* Disables `intid` at the distributor. */
void gic_disable_irq(unsigned intid);

/* Called from the IRQ vector in start.S: acknowledges, dispatches and ends interrupts
 * until none is pending. */
void handle_irq(void);

#endif
