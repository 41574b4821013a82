/*
 * echo - interactive serial input, driven by the PL011's receive interrupt.
 *
 * Reads lines from the UART and answers each with its number and the line in upper
 * case. "quit" (or Ctrl-D) powers the machine off. This is the guest for record/replay
 * tests with serial input: every byte arrives through an interrupt (GIC SPI 1, INTID 33),
 * so when a byte arrives in guest time matters, and a replay must deliver it at the
 * same instruction to reproduce the run.
 *
 * The interrupt handler moves bytes from the UART into a ring buffer; main() sleeps in
 * WFI until the ring has something, then edits the current line: characters are echoed
 * as typed (the terminal is in raw mode under QEMU's -nographic), Backspace erases,
 * CR or LF ends the line (a CR LF pair counts once).
 *
 * Expected output for the input "hello\nRewind 42\nquit\n":
 *   echo: type a line; "quit" or Ctrl-D powers off
 *   > hello
 *   1: HELLO
 *   > Rewind 42
 *   2: REWIND 42
 *   > quit
 *   bye after 2 lines
 */
#include "gic.h"
#include "lib.h"

#define RING_SIZE  256          /* a power of two */
#define LINE_MAX   120
#define CTRL_D     0x04

/* Bytes received but not yet processed. Only the IRQ handler advances `head`, only main()
 * advances `tail`; main() reads `head` with interrupts masked. */
static volatile uint8_t ring[RING_SIZE];
static volatile unsigned ring_head, ring_tail;

static void uart_irq(unsigned intid)
{
    (void)intid;
    int c;
    while (ring_head - ring_tail < RING_SIZE) {
        if ((c = uart_try_getc()) < 0)
            return; /* drained: reading the data register lowered the interrupt */
        ring[ring_head % RING_SIZE] = (uint8_t)c;
        ring_head++;
    }
    /* The ring is full: stop listening until main() catches up, or the still-pending
     * level-triggered interrupt would fire again immediately. The UART keeps the bytes. */
    uart_set_rx_irq(0);
}

/* Waits for the next received byte (see ticks.c for why WFI runs with IRQs masked). */
static uint8_t next_byte(void)
{
    irq_disable();
    while (ring_head == ring_tail) {
        wfi();
        irq_enable();
        irq_disable();
    }
    uint8_t c = ring[ring_tail % RING_SIZE];
    ring_tail++;
    uart_set_rx_irq(1); /* in case the handler paused reception on a full ring */
    irq_enable();
    return c;
}

static char to_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Reads one line into `line`; returns its length, or -1 on Ctrl-D. */
static int read_line(char *line)
{
    static int after_cr; /* swallow the LF of a CR LF pair */
    int len = 0;

    for (;;) {
        uint8_t c = next_byte();
        if (c == '\n' && after_cr) {
            after_cr = 0;
            continue;
        }
        after_cr = (c == '\r');
        if (c == '\r' || c == '\n') {
            putchar('\n');
            line[len] = '\0';
            return len;
        }
        if (c == CTRL_D) {
            print("^D\n");
            return -1;
        }
        if (c == 0x7f || c == '\b') { /* Backspace (terminals send DEL) */
            if (len > 0) {
                len--;
                print("\b \b");
            }
        } else if (c >= ' ' && c < 0x7f && len < LINE_MAX) {
            line[len++] = (char)c;
            putchar(c);
        }
        /* other control characters and overlong lines: ignored */
    }
}

int main(void)
{
    char line[LINE_MAX + 1];
    unsigned count = 0;

    gic_init();
    gic_enable_irq(INTID_UART0, 0x80, uart_irq);
    uart_set_rx_irq(1);
    irq_enable();

    print("echo: type a line; \"quit\" or Ctrl-D powers off\n");
    for (;;) {
        print("> ");
        int len = read_line(line);
        if (len < 0 || strcmp(line, "quit") == 0)
            break;
        count++;
        for (int i = 0; i < len; i++)
            line[i] = to_upper(line[i]);
        printf("%u: %s\n", count, line);
    }
    printf("bye after %u line%s\n", count, count == 1 ? "" : "s");
    return EXIT_OK;
}
