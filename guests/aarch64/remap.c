/*
 * remap - the MMU on, and a virtual page that moves between physical pages while the CPU computes.
 *
 * The other demo guests run with the MMU off, where a virtual address is its physical address. Debuggers watch
 * virtual addresses, and an emulator that remembers which physical pages were written (to skip work when it
 * searches backwards for the last write to a variable) must follow the translation as it changes. This guest
 * makes it change in every way an operating system does:
 *   - the page tables map RAM and the devices 1:1 (1 GiB blocks), and one more virtual page, ALIAS_VA, through
 *     a level 2 and a level 3 table onto one of four physical frames;
 *   - every few episodes of work the level 3 descriptor moves ALIAS_VA to another frame (then TLBI);
 *   - every few more, TTBR0_EL1 switches to a second set of tables, which maps ALIAS_VA through their own level
 *     3 table (an address space switch);
 *   - between those, main() writes the first word of ALIAS_VA only in some episodes (the hash decides), the
 *     timer interrupt handler now and then writes the second word of the same page, and main() writes the
 *     frames through their 1:1 addresses too (the same physical pages, other virtual addresses).
 * The EL1 virtual timer interrupts the work about every 4000 to 8000 counts (500 to 1000 instructions under
 * -icount shift=7), as in busy.c, and its handler stirs the hash, so the output depends on exactly where each
 * interrupt was taken.
 *
 * At the end the guest prints, per frame, how often ALIAS_VA's first word was written while it was mapped
 * there and the frame's first words, then a checksum. The output is the same on every run under -icount (QEMU
 * or Rewind).
 */
#include "gic.h"
#include "lib.h"

#define PAGE_SIZE 4096
#define FRAMES    4
#define EPISODES  120
#define ALIAS_VA  0x80000000UL /* level 1 index 2: the only address mapped through level 2 and 3 tables */

/* Stage 1 descriptors (Arm ARM D5.3): 4K granule, EL1 read/write (AP = 00). */
#define DESC_BLOCK   1ul
#define DESC_TABLE   3ul
#define DESC_PAGE    3ul
#define DESC_AF      (1ul << 10)
#define DESC_SH_IN   (3ul << 8)
#define DESC_ATTR(i) ((uint64_t)(i) << 2)
#define ATTR_DEVICE  0 /* MAIR_EL1 attribute 0: 0x00, Device-nGnRnE */
#define ATTR_NORMAL  1 /* MAIR_EL1 attribute 1: 0xff, Normal write-back */

/* TCR_EL1: T0SZ = T1SZ = 25 (39-bit VAs, the walk starts at level 1), TTBR0 walks write-back inner shareable,
 * TG0 = 4K, EPD1 (no TTBR1 walks), IPS = 40 bits. */
#define TCR_VALUE (25ul | (1ul << 8) | (1ul << 10) | (3ul << 12) | (25ul << 16) | (1ul << 23) | (2ul << 32))

#define CTL_ENABLE (1u << 0)
#define CTL_IMASK  (1u << 1)

struct tables {
    uint64_t l1[512];
    uint64_t l2[512];
    uint64_t l3[512];
};

static struct tables sets[2] __attribute__((aligned(PAGE_SIZE)));
static uint8_t frames[FRAMES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static unsigned active;       /* the table set TTBR0_EL1 points at */
static unsigned mapped[2];    /* the frame each set maps ALIAS_VA to */
static unsigned writes[FRAMES];
static volatile unsigned ticks;
static volatile uint64_t stir;

static uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 0x100000001b3ull;
}

static uint64_t page_desc(unsigned frame)
{
    return (uint64_t)(uintptr_t)frames[frame] | DESC_PAGE | DESC_AF | DESC_SH_IN | DESC_ATTR(ATTR_NORMAL);
}

static void tlb_flush(void)
{
    __asm__ volatile("dsb ishst\n tlbi vmalle1\n dsb ish\n isb" : : : "memory");
}

static void build_tables(struct tables *t, unsigned frame)
{
    t->l1[0] = 0x00000000ul | DESC_BLOCK | DESC_AF | DESC_ATTR(ATTR_DEVICE);               /* devices */
    t->l1[1] = 0x40000000ul | DESC_BLOCK | DESC_AF | DESC_SH_IN | DESC_ATTR(ATTR_NORMAL);  /* RAM */
    t->l1[2] = (uint64_t)(uintptr_t)t->l2 | DESC_TABLE;
    t->l2[0] = (uint64_t)(uintptr_t)t->l3 | DESC_TABLE;
    t->l3[0] = page_desc(frame);
}

static void mmu_on(void)
{
    build_tables(&sets[0], 0);
    build_tables(&sets[1], FRAMES - 1);
    mapped[0] = 0;
    mapped[1] = FRAMES - 1;
    write_sysreg(mair_el1, 0xff00ul);
    write_sysreg(tcr_el1, TCR_VALUE);
    write_sysreg(ttbr0_el1, (uintptr_t)sets[0].l1);
    isb();
    tlb_flush();
    uint64_t sctlr = read_sysreg(sctlr_el1);
    write_sysreg(sctlr_el1, sctlr | 1 | (1 << 2) | (1 << 12)); /* M, C, I */
    isb();
}

static volatile uint64_t *alias(void)
{
    return (volatile uint64_t *)ALIAS_VA;
}

static void timer_irq(unsigned intid)
{
    (void)intid;
    uint64_t now = read_sysreg(cntvct_el0);
    uint64_t pc = read_sysreg(elr_el1);
    unsigned n = ticks;
    stir = mix(stir, now ^ pc);
    if ((stir & 0xff) == 0)
        alias()[1] = stir; /* now and then: the watched page, not the watched word */
    write_sysreg(cntv_tval_el0, 4000 + (stir >> 52));
    isb();
    ticks = n + 1;
}

static uint64_t step(uint64_t h)
{
    unsigned rounds = 1 + (unsigned)(h >> 60);
    for (unsigned r = 0; r < rounds; r++) {
        h = h * 6364136223846793005ull + 1442695040888963407ull;
        h ^= h >> 29;
    }
    return h;
}

int main(void)
{
    printf("remap: %u episodes, ALIAS_VA 0x%lx over %u frames\n", EPISODES, ALIAS_VA, FRAMES);
    mmu_on();

    gic_init();
    gic_enable_irq(INTID_VIRT_TIMER, 0x80, timer_irq);
    write_sysreg(cntv_tval_el0, 4000);
    write_sysreg(cntv_ctl_el0, CTL_ENABLE);
    isb();
    irq_enable();

    uint64_t h = 0x243f6a8885a308d3ull;
    for (unsigned e = 0; e < EPISODES; e++) {
        for (unsigned i = 0; i < 300; i++)
            h = step(h ^ stir);
        if ((h >> 62) == 0) { /* a quarter of the episodes: the watched word */
            alias()[0] = h;
            writes[mapped[active]]++;
        }
        if (e % 3 == 2) { /* move ALIAS_VA to another frame */
            unsigned f = (mapped[active] + 1 + (unsigned)(h & 1)) % FRAMES;
            sets[active].l3[0] = page_desc(f);
            mapped[active] = f;
            tlb_flush();
        }
        if (e % 7 == 6) { /* switch address spaces */
            active ^= 1;
            write_sysreg(ttbr0_el1, (uintptr_t)sets[active].l1);
            isb();
            tlb_flush();
        }
        frames[(h >> 20) % FRAMES][64 + (e % 8) * 8] ^= (uint8_t)h; /* a frame through its 1:1 address */
    }

    irq_disable();
    write_sysreg(cntv_ctl_el0, CTL_IMASK);
    gic_disable_irq(INTID_VIRT_TIMER);

    uint64_t sum = h;
    for (unsigned f = 0; f < FRAMES; f++) {
        const uint64_t *w = (const uint64_t *)frames[f];
        printf("frame %u: %u writes, words 0x%016lx 0x%016lx\n", f, writes[f], w[0], w[1]);
        for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
            sum = mix(sum, w[i]);
    }
    printf("ticks: %u, hash 0x%016lx\n", ticks, h);
    printf("checksum: 0x%016lx\n", sum);
    return EXIT_OK;
}
