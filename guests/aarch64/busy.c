/*
 * busy - timer (and serial) interrupts that arrive while the CPU computes.
 *
 * ticks.c waits for its interrupts in WFI, so an emulator that delivers an interrupt
 * late (say, at the end of a burst of instructions rather than at the instruction where
 * the timer expired) still prints the right thing there. This guest never sleeps: main()
 * runs an integer hash loop and counts its iterations while the EL1 virtual timer
 * interrupts it about every 500 to 1000 instructions (under -icount shift=7 one
 * instruction is 128 ns, i.e. 8 ticks of the 62.5 MHz counter).
 *
 * The timer is programmed with CNTV_TVAL_EL0, which is relative to the moment of the
 * write, and re-armed the same way inside the interrupt handler, so every tick's
 * deadline depends on when the previous tick was actually taken. For each tick the
 * handler records the iteration count, the counter (CNTVCT_EL0), how far past the
 * deadline the counter already is, and the interrupted PC (ELR_EL1: the IRQ vector code
 * in start.S saves it but does not change it, and nothing else can trap before the
 * handler runs). It also stirs these values into a word that main()'s loop folds into its
 * hash, and the hash decides how long each iteration is (1 to 16 rounds): an interrupt
 * taken one instruction early or late changes every later line.
 *
 * Bytes received on the UART (PL011 receive interrupt, GIC SPI 1) are recorded with the
 * iteration count at their arrival and stirred in the same way. Without input the output
 * is fully determined by the instruction count, so it is the same on every run under
 * -icount (QEMU or Rewind); with input it depends on when the bytes arrived, which a
 * record/replay run must reproduce.
 *
 * After TICKS ticks the timer is switched off and main() prints one line per tick, one per
 * received byte, and a checksum over all of it.
 *
 * Expected output without input, under QEMU 7.2 with -icount shift=7,sleep=off (the
 * default sleep=on lets virtual time follow the host clock before the guest starts, so
 * the counter values then differ from run to run):
 *   busy: 100 timer ticks while computing, each 4000 + (0..4095) counts after the last (TVAL)
 *   tick 1: 7 iterations, counter 26160 (deadline + 312), pc 0x40202154
 *   tick 2: 16 iterations, counter 32192 (deadline + 315), pc 0x40202158
 *   ...
 *   tick 100: 1291 iterations, counter 679352 (deadline + 315), pc 0x40202158
 *   rx: 0 bytes
 *   iterations: 1292, hash 0xf952b07021be40f6
 *   checksum: 0xda48191d9e90d669
 * (The PCs and so everything after them are those of the committed busy.elf.) With input,
 * "rx: N bytes" is followed by one line per byte: "rx 'h' at iteration 123".
 */
#include "gic.h"
#include "lib.h"

#define TICKS          100
#define INTERVAL_BASE  4000u  /* counts (500 instructions at shift=7) ... */
#define INTERVAL_MASK  0xfffu /* ... plus 0 to 4095 more, chosen from the data */
#define RX_MAX         64     /* received bytes recorded (more are counted, not recorded) */

/* CNTV_CTL_EL0 bits */
#define CTL_ENABLE   (1u << 0)
#define CTL_IMASK    (1u << 1)

struct tick_record {
    uint32_t iterations; /* main()'s iteration count when the interrupt was taken */
    uint64_t counter;    /* CNTVCT_EL0 in the handler */
    uint64_t late;       /* counter - the deadline (CNTV_CVAL_EL0) that raised the interrupt */
    uint64_t pc;         /* ELR_EL1: where main() was interrupted */
};

struct rx_record {
    uint8_t byte;
    uint32_t iterations;
};

static struct tick_record tick_log[TICKS];
static struct rx_record rx_log[RX_MAX];

/* Shared between main() and the handlers. main() only reads `ticks` and `stir`; the
 * handlers only read `iterations`. */
static volatile unsigned ticks;
static volatile unsigned rx_count;
static volatile uint32_t iterations;
static volatile uint64_t stir;

/* Handler-side checksum (FNV-1a over 64-bit words). */
static uint64_t checksum = 0xcbf29ce484222325ull;

static uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 0x100000001b3ull;
}

static void timer_irq(unsigned intid)
{
    (void)intid;
    uint64_t now = read_sysreg(cntvct_el0);
    uint64_t deadline = read_sysreg(cntv_cval_el0);
    uint64_t pc = read_sysreg(elr_el1);
    unsigned n = ticks;
    uint32_t it = iterations;

    if (now < deadline)
        panic("tick %u came early: counter %lu < deadline %lu", n + 1, now, deadline);
    tick_log[n] = (struct tick_record){ it, now, now - deadline, pc };
    checksum = mix(mix(mix(checksum, it), now), pc);
    stir = mix(stir, now ^ pc);

    if (n + 1 < TICKS)
        write_sysreg(cntv_tval_el0, INTERVAL_BASE + ((checksum >> 32) & INTERVAL_MASK));
    else
        write_sysreg(cntv_ctl_el0, CTL_IMASK); /* stop: disabled, and masked for good measure */
    isb(); /* the timer sees the new deadline before the GIC is told we are done */
    ticks = n + 1;
}

static void uart_irq(unsigned intid)
{
    (void)intid;
    int c;
    while ((c = uart_try_getc()) >= 0) { /* drain: reading lowers the interrupt */
        uint32_t it = iterations;
        unsigned n = rx_count;
        if (n < RX_MAX)
            rx_log[n] = (struct rx_record){ (uint8_t)c, it };
        rx_count = n + 1;
        checksum = mix(mix(checksum, (uint64_t)c), it);
        stir = mix(stir, (uint64_t)c << 32 | it);
    }
}

/* One iteration of the workload: 1 to 16 rounds of an LCG with an xorshift, the number
 * of rounds taken from the state itself. */
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
    printf("busy: %u timer ticks while computing, each %u + (0..%u) counts after the last (TVAL)\n",
           TICKS, INTERVAL_BASE, INTERVAL_MASK);

    gic_init();
    gic_enable_irq(INTID_VIRT_TIMER, 0x80, timer_irq);
    gic_enable_irq(INTID_UART0, 0x80, uart_irq);
    uart_set_rx_irq(1);

    write_sysreg(cntv_tval_el0, INTERVAL_BASE);
    write_sysreg(cntv_ctl_el0, CTL_ENABLE);
    isb();
    irq_enable();

    uint64_t h = 0x243f6a8885a308d3ull; /* pi */
    while (ticks < TICKS) {
        h = step(h ^ stir);
        iterations++;
    }

    irq_disable();
    uart_set_rx_irq(0);
    gic_disable_irq(INTID_UART0);
    gic_disable_irq(INTID_VIRT_TIMER);

    for (unsigned n = 0; n < TICKS; n++) {
        const struct tick_record *t = &tick_log[n];
        printf("tick %u: %u iterations, counter %lu (deadline + %lu), pc 0x%lx\n",
               n + 1, t->iterations, t->counter, t->late, t->pc);
    }
    unsigned rx = rx_count;
    printf("rx: %u byte%s\n", rx, rx == 1 ? "" : "s");
    for (unsigned n = 0; n < rx && n < RX_MAX; n++) {
        uint8_t c = rx_log[n].byte;
        if (c >= ' ' && c < 0x7f && c != '\'')
            printf("rx '%c' at iteration %u\n", c, rx_log[n].iterations);
        else
            printf("rx 0x%02x at iteration %u\n", c, rx_log[n].iterations);
    }
    if (rx > RX_MAX)
        printf("rx: %u more not recorded\n", rx - RX_MAX);

    uint32_t total = iterations;
    printf("iterations: %u, hash 0x%016lx\n", total, h);
    printf("checksum: 0x%016lx\n", mix(mix(checksum, total), h));
    return EXIT_OK;
}
