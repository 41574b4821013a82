/*
 * gic.c - GICv2 setup and IRQ dispatch (ARM IHI 0048B, "GIC architecture v2").
 *
 * Every access is a 32-bit word: the architecture also allows byte accesses to the
 * priority and target registers, but word accesses are what Linux uses and what every
 * implementation supports.
 */
#include "gic.h"
#include "lib.h"

/* Distributor registers. */
#define GICD_CTLR        0x000
#define GICD_ISENABLER   0x100 /* 1 bit per INTID, write 1 to enable */
#define GICD_ICENABLER   0x180 /* 1 bit per INTID, write 1 to disable */
#define GICD_IPRIORITYR  0x400 /* 8 bits per INTID */
#define GICD_ITARGETSR   0x800 /* 8 bits per INTID: CPU mask, writable for SPIs only */

/* CPU interface registers. */
#define GICC_CTLR        0x000
#define GICC_PMR         0x004 /* priority mask: only priorities below this are signalled */
#define GICC_IAR         0x00c /* read = acknowledge the highest-priority pending interrupt */
#define GICC_EOIR        0x010 /* write the IAR value back = end of interrupt */

#define MAX_INTID        64    /* the demos only use PPIs and the first SPIs */

static irq_handler_fn handlers[MAX_INTID];

static uintptr_t gicd(unsigned offset) { return VIRT_GICD_BASE + offset; }
static uintptr_t gicc(unsigned offset) { return VIRT_GICC_BASE + offset; }

/* Replaces the 8-bit field of `intid` in a byte-per-INTID register bank. */
static void set_byte_field(unsigned bank, unsigned intid, uint32_t value)
{
    uintptr_t reg = gicd(bank + (intid & ~3u));
    unsigned shift = (intid & 3) * 8;
    uint32_t word = mmio_read32(reg);
    word = (word & ~(0xffu << shift)) | ((value & 0xff) << shift);
    mmio_write32(reg, word);
}

void gic_init(void)
{
    mmio_write32(gicd(GICD_CTLR), 1); /* forward group 0 interrupts to the CPU interfaces */
    mmio_write32(gicc(GICC_PMR), 0xff);
    mmio_write32(gicc(GICC_CTLR), 1); /* signal group 0 interrupts to this CPU as IRQ */
}

void gic_enable_irq(unsigned intid, unsigned priority, irq_handler_fn handler)
{
    if (intid >= MAX_INTID)
        panic("gic_enable_irq: INTID %u out of range", intid);
    handlers[intid] = handler;
    set_byte_field(GICD_IPRIORITYR, intid, priority);
    if (intid >= 32)
        set_byte_field(GICD_ITARGETSR, intid, 1); /* SPI: deliver to CPU 0 */
    /* Trigger mode (GICD_ICFGR) stays at its reset value: level-sensitive, which is how
     * both the architected timer and the PL011 signal their interrupts. */
    mmio_write32(gicd(GICD_ISENABLER + (intid / 32) * 4), 1u << (intid % 32));
}

void gic_disable_irq(unsigned intid)
{
    mmio_write32(gicd(GICD_ICENABLER + (intid / 32) * 4), 1u << (intid % 32));
}

void handle_irq(void)
{
    for (;;) {
        uint32_t iar = mmio_read32(gicc(GICC_IAR));
        unsigned intid = iar & 0x3ff;
        if (intid >= 1020)
            return; /* 1023: spurious, nothing (more) pending; 1020-1022 are reserved */
        if (intid >= MAX_INTID || !handlers[intid])
            panic("IRQ with INTID %u has no handler", intid);
        handlers[intid](intid);
        mmio_write32(gicc(GICC_EOIR), iar);
    }
}
