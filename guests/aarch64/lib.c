/*
 * lib.c - console, power control and the exception report for the demo guests.
 */
#include "lib.h"

uint64_t boot_x0; /* start.S stores x0 here after it has cleared .bss */

/* ------------------------------------------------------------------ PL011 UART */

/* Register offsets and bits (ARM PrimeCell UART PL011 TRM). */
#define UART_DR    0x00        /* data: read = received byte, write = send */
#define UART_FR    0x18        /* flags */
#define UART_IMSC  0x38        /* interrupt mask set/clear (1 = enabled) */
#define UART_ICR   0x44        /* interrupt clear */
#define FR_RXFE    (1u << 4)   /* receive FIFO empty */
#define FR_TXFF    (1u << 5)   /* transmit FIFO full */
#define INT_RX     (1u << 4)   /* receive (FIFO reached its trigger level) */
#define INT_RT     (1u << 6)   /* receive timeout (bytes waiting below the trigger level) */

/*
 * We do not program baud rate, line control or the FIFO: QEMU leaves the UART ready
 * to use, and toggling the FIFO enable in UARTLCR_H flushes the receive FIFO, which
 * could drop a byte that arrived before the guest started.
 */

static void uart_putc(char c)
{
    while (mmio_read32(VIRT_UART0_BASE + UART_FR) & FR_TXFF)
        ;
    mmio_write32(VIRT_UART0_BASE + UART_DR, (uint8_t)c);
}

int uart_try_getc(void)
{
    if (mmio_read32(VIRT_UART0_BASE + UART_FR) & FR_RXFE)
        return -1;
    return mmio_read32(VIRT_UART0_BASE + UART_DR) & 0xff; /* bits 8..11 are error flags */
}

void uart_set_rx_irq(int enabled)
{
    uint32_t imsc = mmio_read32(VIRT_UART0_BASE + UART_IMSC);
    if (enabled)
        imsc |= INT_RX | INT_RT;
    else
        imsc &= ~(INT_RX | INT_RT);
    mmio_write32(VIRT_UART0_BASE + UART_IMSC, imsc);
}

int getchar(void)
{
    int c;
    while ((c = uart_try_getc()) < 0)
        ;
    return c;
}

int putchar(int c)
{
    if (c == '\n')
        uart_putc('\r'); /* terminals in raw mode need the carriage return */
    uart_putc((char)c);
    return (uint8_t)c;
}

void print(const char *s)
{
    while (*s)
        putchar(*s++);
}

/* ------------------------------------------------------------------ printf */

/*
 * A small printf: %d %i %u %x %X %p %s %c %%, the flags '-' and '0', a field width
 * (digits or '*'), and the length modifiers l, ll and z. Returns the characters written.
 */

struct out {
    int count;
};

static void emit(struct out *o, char c)
{
    putchar(c);
    o->count++;
}

static void emit_padded(struct out *o, const char *s, int len, int width, int left, char pad)
{
    /* A '0'-padded negative number keeps its sign in front of the zeros. */
    if (pad == '0' && len > 0 && s[0] == '-' && !left) {
        emit(o, '-');
        s++, len--, width--;
    }
    if (!left)
        for (int i = len; i < width; i++)
            emit(o, pad);
    for (int i = 0; i < len; i++)
        emit(o, s[i]);
    if (left)
        for (int i = len; i < width; i++)
            emit(o, ' ');
}

/* Formats v in the given base into the end of buf; returns the first character. */
static char *format_unsigned(char *end, uint64_t v, unsigned base, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = end;
    do {
        *--p = digits[v % base];
        v /= base;
    } while (v);
    return p;
}

int vprintf(const char *fmt, va_list ap)
{
    struct out o = { 0 };
    char buf[24]; /* 2^64 in decimal is 20 digits, plus a sign */

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            emit(&o, *fmt);
            continue;
        }
        fmt++;
        int left = 0;
        char pad = ' ';
        for (;; fmt++) {
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                pad = '0';
            else
                break;
        }
        int width = 0;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }
        int longs = 0;
        while (*fmt == 'l' || *fmt == 'z') {
            longs++;
            fmt++;
        }
        if (left)
            pad = ' ';

        char *end = buf + sizeof buf;
        char *s;
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
            s = format_unsigned(end, mag, 10, 0);
            if (v < 0)
                *--s = '-';
            emit_padded(&o, s, (int)(end - s), width, left, pad);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            s = format_unsigned(end, v, *fmt == 'u' ? 10 : 16, *fmt == 'X');
            emit_padded(&o, s, (int)(end - s), width, left, pad);
            break;
        }
        case 'p': {
            s = format_unsigned(end, (uintptr_t)va_arg(ap, void *), 16, 0);
            *--s = 'x';
            *--s = '0';
            emit_padded(&o, s, (int)(end - s), width, left, ' ');
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            emit_padded(&o, str, (int)strlen(str), width, left, ' ');
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            emit_padded(&o, &c, 1, width, left, ' ');
            break;
        }
        case '%':
            emit(&o, '%');
            break;
        case '\0': /* a lone '%' at the end of the format */
            return o.count;
        default: /* unknown conversion: show it as written */
            emit(&o, '%');
            emit(&o, *fmt);
            break;
        }
    }
    return o.count;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

/* ------------------------------------------------------------------ PSCI */

/* PSCI function IDs (ARM DEN 0022): SMC32 calling convention, no arguments. */
#define PSCI_SYSTEM_OFF   0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u

/*
 * QEMU's virt board advertises PSCI with method = "hvc" in its device tree when the
 * CPU has no EL2/EL3 (the default; see README.md), and implements the calls itself.
 * SMCCC allows the callee to clobber x0-x17.
 */
#define SMCCC_CLOBBERS "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", \
                       "x12", "x13", "x14", "x15", "x16", "x17", "memory"

static uint64_t psci_call(uint32_t function)
{
    register uint64_t x0 __asm__("x0") = function;
    __asm__ volatile("hvc #0" : "+r"(x0) : : SMCCC_CLOBBERS);
    return x0;
}

/* With an EL2 present QEMU's device tree says method = "smc" instead. */
static uint64_t psci_call_smc(uint32_t function)
{
    register uint64_t x0 __asm__("x0") = function;
    __asm__ volatile("smc #0" : "+r"(x0) : : SMCCC_CLOBBERS);
    return x0;
}

static int shutting_down;

static void __attribute__((noreturn)) halt_forever(void)
{
    for (;;)
        wfi();
}

void poweroff(int status)
{
    irq_disable();
    /* An exception while powering off (say, no PSCI behind hvc) comes back here. */
    if (shutting_down++)
        halt_forever();
    if (status != EXIT_OK)
        printf("\n*** guest failed: exit status %d, powering off\n", status);
#ifdef REPORT_COUNTER
    /* measure.sh builds with this: under QEMU's -icount shift=0,sleep=off the virtual
     * counter advances one tick (62.5 MHz) per 16 instructions. */
    isb();
    printf("[CNTVCT_EL0 = %lu]\n", read_sysreg(cntvct_el0));
#endif
    psci_call(PSCI_SYSTEM_OFF);
    print("*** PSCI SYSTEM_OFF returned; halting\n");
    halt_forever();
}

void reboot(void)
{
    irq_disable();
    if (shutting_down++)
        halt_forever();
    psci_call(PSCI_SYSTEM_RESET);
    print("*** PSCI SYSTEM_RESET returned; halting\n");
    halt_forever();
}

/*
 * start.S calls this when we were not entered at EL1. The runtime only drives EL1
 * registers (vectors, ESR/ELR, timers), so say what is wrong and stop. At EL2 (QEMU's
 * -M virt,virtualization=on) QEMU implements PSCI behind SMC, so we can still power off.
 */
void unsupported_exception_level(unsigned el)
{
    printf("\n*** this guest must start at EL1, but it was entered at EL%u\n"
           "    (on QEMU, leave out -M virt,virtualization=on and secure=on)\n", el);
    if (el == 2)
        psci_call_smc(PSCI_SYSTEM_OFF);
    halt_forever();
}

void panic(const char *fmt, ...)
{
    va_list ap;
    print("\n*** PANIC: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    poweroff(EXIT_PANIC);
}

/* ------------------------------------------------------------------ exceptions */

/* Registers saved by start.S on exception entry (layout shared with start.S). */
struct exception_frame {
    uint64_t x[31]; /* x0..x30 */
    uint64_t sp;    /* SP at the time of the exception */
    uint64_t elr;
    uint64_t spsr;
};

static const char *const vector_names[16] = {
    "synchronous, current EL with SP_EL0", "IRQ, current EL with SP_EL0",
    "FIQ, current EL with SP_EL0",         "SError, current EL with SP_EL0",
    "synchronous, current EL with SP_ELx", "IRQ, current EL with SP_ELx",
    "FIQ, current EL with SP_ELx",         "SError, current EL with SP_ELx",
    "synchronous, lower EL (AArch64)",     "IRQ, lower EL (AArch64)",
    "FIQ, lower EL (AArch64)",             "SError, lower EL (AArch64)",
    "synchronous, lower EL (AArch32)",     "IRQ, lower EL (AArch32)",
    "FIQ, lower EL (AArch32)",             "SError, lower EL (AArch32)",
};

/* ESR_ELx.EC: the common exception classes. */
static const char *exception_class_name(unsigned ec)
{
    switch (ec) {
    case 0x00: return "unknown reason (undefined instruction?)";
    case 0x01: return "trapped WFI/WFE";
    case 0x07: return "FP/SIMD access trapped (CPACR_EL1.FPEN)";
    case 0x0e: return "illegal execution state";
    case 0x15: return "SVC from AArch64";
    case 0x16: return "HVC from AArch64";
    case 0x17: return "SMC from AArch64";
    case 0x18: return "trapped MSR/MRS/system instruction";
    case 0x20: return "instruction abort from a lower EL";
    case 0x21: return "instruction abort, same EL";
    case 0x22: return "PC alignment fault";
    case 0x24: return "data abort from a lower EL";
    case 0x25: return "data abort, same EL";
    case 0x26: return "SP alignment fault";
    case 0x2f: return "SError";
    case 0x30: case 0x31: return "breakpoint";
    case 0x32: case 0x33: return "software step";
    case 0x34: case 0x35: return "watchpoint";
    case 0x3c: return "BRK instruction";
    default:   return "(see the Arm ARM, ESR_EL1.EC)";
    }
}

/* Called by start.S for every vector except the IRQ one we use. Never returns. */
void exception_unexpected(unsigned vector, struct exception_frame *frame)
{
    uint64_t esr = read_sysreg(esr_el1);
    uint64_t far = read_sysreg(far_el1);
    unsigned ec = (unsigned)(esr >> 26) & 0x3f;

    printf("\n*** UNEXPECTED EXCEPTION: %s\n", vector < 16 ? vector_names[vector] : "?");
    printf("    EC   0x%02x  %s\n", ec, exception_class_name(ec));
    printf("    ESR  0x%016lx\n", esr);
    printf("    ELR  0x%016lx  (the faulting instruction, or the one after an exception call)\n",
           frame->elr);
    printf("    FAR  0x%016lx  (faulting address; valid for aborts and alignment faults)\n", far);
    printf("    SPSR 0x%016lx  SP 0x%016lx  LR 0x%016lx\n", frame->spsr, frame->sp, frame->x[30]);
    poweroff(EXIT_EXCEPTION);
}

/* ------------------------------------------------------------------ string functions */

/*
 * GCC may emit calls to these for struct copies and large initializers even with
 * -ffreestanding. Byte loops keep every access aligned: with the MMU off all data
 * accesses are Device memory, where an unaligned access is an alignment fault.
 * (build.sh passes -fno-tree-loop-distribute-patterns so GCC does not turn these
 * loops back into calls to themselves.)
 */

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    while (n--)
        *d++ = (uint8_t)c;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (uint8_t)*a - (uint8_t)*b;
}
