/*
 * lib.h - the tiny runtime shared by Rewind's bare-metal AArch64 demo guests.
 *
 * The guests run on QEMU's (and Rewind's) `virt` board at EL1 with the MMU off.
 * Everything here is freestanding: no libc, no libgcc. The runtime offers:
 *   - console output/input on the PL011 UART (printf with a small format subset),
 *   - power off / reset through PSCI,
 *   - helpers for system registers, interrupt masking and MMIO.
 * The GICv2 interrupt controller lives in gic.h.
 */
#ifndef REWIND_GUEST_LIB_H
#define REWIND_GUEST_LIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- The virt board's memory map (QEMU hw/arm/virt.c; the same in Rewind) ---- */
#define VIRT_RAM_BASE    0x40000000UL /* RAM; 128 MiB by default (-m) */
#define VIRT_UART0_BASE  0x09000000UL /* PL011 UART, wired to GIC SPI 1 */
#define VIRT_GICD_BASE   0x08000000UL /* GICv2 distributor */
#define VIRT_GICC_BASE   0x08010000UL /* GICv2 CPU interface */

/* GIC interrupt IDs (INTID = 16 + PPI number, 32 + SPI number). */
#define INTID_VIRT_TIMER 27 /* EL1 virtual timer: PPI 11 */
#define INTID_PHYS_TIMER 30 /* EL1 physical timer (non-secure): PPI 14 */
#define INTID_UART0      33 /* PL011: SPI 1 */

/* Exit statuses passed to poweroff(). PSCI SYSTEM_OFF cannot carry a status (QEMU
 * always exits with 0), so a non-zero status is reported on the console instead. */
#define EXIT_OK        0
#define EXIT_FAILURE   1 /* the guest detected a wrong result */
#define EXIT_PANIC     2 /* panic() */
#define EXIT_EXCEPTION 3 /* an unexpected exception reached the vector table */

/* ---- Console (PL011) ---- */
int putchar(int c);                 /* writes one character; '\n' goes out as "\r\n" */
void print(const char *s);          /* writes a string, no newline added */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int getchar(void);                  /* waits (polling) for one received byte */
int uart_try_getc(void);            /* one received byte, or -1 when none is waiting */
void uart_set_rx_irq(int enabled);  /* raise SPI 1 when a byte arrives (receive + timeout) */

/* ---- Power (PSCI 0.2+, "hvc" conduit on QEMU's virt board without EL2/EL3) ---- */
void poweroff(int status) __attribute__((noreturn));
void reboot(void) __attribute__((noreturn));
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Called by start.S when the CPU did not start at EL1; prints why and stops. */
void unsupported_exception_level(unsigned el) __attribute__((noreturn));

/* x0 as the loader left it at the entry point: 0 for an ELF kernel, the device tree's
 * address for a raw Image (see README.md). Saved by start.S. */
extern uint64_t boot_x0;

/* ---- The C library functions GCC may call even in freestanding code ---- */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* ---- System registers, barriers, interrupt masking ---- */
#define read_sysreg(name) ({                                   \
        uint64_t v_;                                           \
        __asm__ volatile("mrs %0, " #name : "=r"(v_));         \
        v_;                                                    \
    })
#define write_sysreg(name, value) \
    __asm__ volatile("msr " #name ", %0" : : "r"((uint64_t)(value)) : "memory")

static inline void isb(void) { __asm__ volatile("isb" : : : "memory"); }
static inline void wfi(void) { __asm__ volatile("wfi" : : : "memory"); }
static inline void irq_enable(void) { __asm__ volatile("msr daifclr, #2" : : : "memory"); }
static inline void irq_disable(void) { __asm__ volatile("msr daifset, #2" : : : "memory"); }

/* Device registers. volatile keeps every access exactly as written. */
static inline uint32_t mmio_read32(uintptr_t addr) { return *(volatile uint32_t *)addr; }
static inline void mmio_write32(uintptr_t addr, uint32_t v) { *(volatile uint32_t *)addr = v; }

#endif
