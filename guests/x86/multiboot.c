/* A Multiboot 1 guest for the pc board (QEMU's and Rewind's -kernel): prints on COM1 (a 16550 at 0x3f8, polling
 * LSR.THRE) what the boot loader handed over — the magic, the info structure's memory fields, command line, boot
 * loader name and memory map — the entry state the Multiboot spec defines, a few UART register values, and exits
 * through isa-debug-exit (port 0xf4; QEMU's exit status is (value << 1) | 1). Freestanding: no libc. */
#include <stdint.h>

#define COM1 0x3f8
#define EXIT_VALUE 0x15 /* exit status 43 */

uint32_t entry_eax, entry_ebx, entry_esp, entry_eflags, entry_cr0;
uint16_t entry_sel[6];
struct __attribute__((packed)) { uint16_t limit; uint32_t base; } entry_gdtr, entry_idtr;

struct multiboot_info {
  uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
  uint32_t syms[4];
  uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table, boot_loader_name;
};
struct __attribute__((packed)) mmap_entry { uint32_t size; uint64_t addr, len; uint32_t type; };

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void putc(char c) {
  while (!(inb(COM1 + 5) & 0x20)) {} /* LSR.THRE */
  outb(COM1, (uint8_t)c);
}
static void puts(const char *s) { while (*s) putc(*s++); }
static void hex(uint32_t v) {
  for (int i = 28; i >= 0; i -= 4) putc("0123456789abcdef"[(v >> i) & 15]);
}
static void dec(uint32_t v) {
  char b[11]; int n = 0;
  do { b[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) putc(b[--n]);
}
static void field(const char *name, uint32_t v) { puts(name); puts("="); hex(v); puts(" "); }
static int has(const char *s, const char *word) {
  for (; *s; s++) {
    const char *a = s, *b = word;
    while (*b && *a == *b) a++, b++;
    if (!*b) return 1;
  }
  return 0;
}

static void uart_init(void) {
  outb(COM1 + 1, 0x00); /* no interrupts */
  outb(COM1 + 3, 0x80); /* DLAB */
  outb(COM1 + 0, 0x01); /* 115200 baud */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03); /* 8N1 */
  outb(COM1 + 2, 0xc7); /* FIFO on, both reset, trigger 14 */
  outb(COM1 + 4, 0x0b); /* DTR, RTS, OUT2 */
}

/* Register values QEMU's 16550 gives: the FIFO bits in IIR, THRE after IER.THRI, loopback echo and MSR. */
static void uart_selftest(void) {
  uint8_t iir0 = inb(COM1 + 2);
  outb(COM1 + 1, 0x02);
  uint8_t iir1 = inb(COM1 + 2), iir2 = inb(COM1 + 2);
  outb(COM1 + 1, 0x00);
  outb(COM1 + 7, 0xa5);
  uint8_t scr = inb(COM1 + 7);
  outb(COM1 + 4, 0x1e); /* loopback, OUT2, OUT1, RTS */
  uint8_t msr = inb(COM1 + 6);
  outb(COM1, 'L'); outb(COM1, 'B');
  uint8_t lsr = inb(COM1 + 5);
  uint8_t a = inb(COM1), b = inb(COM1);
  uint8_t lsr2 = inb(COM1 + 5);
  outb(COM1 + 4, 0x0b);
  uint8_t msr2 = inb(COM1 + 6);
  puts("uart iir="); hex(iir0); puts(" thri="); hex(iir1); puts(","); hex(iir2); puts(" scr="); hex(scr);
  puts(" loop msr="); hex(msr); puts(" lsr="); hex(lsr); puts(" echo="); putc((char)a); putc((char)b);
  puts(" lsr="); hex(lsr2); puts(" msr="); hex(msr2); puts("\n");
}

/* Interrupt-driven: IRQ4 through the 8259 into the guest's IDT. THRE after IER.THRI and after a byte; in loopback
 * with trigger level 4, the received-data interrupt at the 4th byte and the character timeout (at 300 baud, 133 ms
 * of guest time: far from any host timing in QEMU) for a single byte. */
void load_tables(void);
uint32_t other_interrupts;
static volatile uint8_t iir_log[16];
static volatile uint32_t iir_count;
static volatile char rx[16];
static volatile uint32_t rx_count;

void uart_irq(void) {
  uint8_t iir = inb(COM1 + 2);
  if (iir_count < sizeof iir_log) iir_log[iir_count] = iir;
  iir_count++;
  while (inb(COM1 + 5) & 0x01) {
    char c = (char)inb(COM1);
    if (rx_count < sizeof rx) rx[rx_count++] = c;
  }
  outb(0x20, 0x20); /* non-specific EOI */
}

static void wait_interrupt(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }

static void irq_selftest(void) {
  load_tables();
  /* The 8259 pair: vectors 0x20 and 0x28, only IRQ4 unmasked. */
  outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01);
  outb(0xa0, 0x11); outb(0xa1, 0x28); outb(0xa1, 0x02); outb(0xa1, 0x01);
  outb(0x21, 0xef); outb(0xa1, 0xff);
  outb(COM1 + 3, 0x80); outb(COM1, 0x80); outb(COM1 + 1, 0x01); outb(COM1 + 3, 0x03); /* 300 baud */
  outb(COM1 + 2, 0x47); /* FIFO, trigger 4 */
  outb(COM1 + 4, 0x1b); /* loopback */
  outb(COM1 + 1, 0x02); /* THRI: THRE is set, so the interrupt is pending at once */
  wait_interrupt();
  outb(COM1, 'T');
  wait_interrupt();
  outb(COM1 + 1, 0x01); /* RDI only */
  outb(COM1, 'W'); outb(COM1, 'X'); outb(COM1, 'Y');
  uint32_t before = iir_count;
  outb(COM1, 'Z');
  wait_interrupt();
  outb(COM1, 'Q');
  wait_interrupt();
  outb(COM1 + 1, 0x00);
  outb(COM1 + 4, 0x0b);
  outb(COM1 + 3, 0x80); outb(COM1, 0x01); outb(COM1 + 1, 0x00); outb(COM1 + 3, 0x03);
  puts("irq4 count="); dec(iir_count); puts(" before-trigger="); dec(before); puts(" iir=");
  for (uint32_t i = 0; i < iir_count && i < sizeof iir_log; i++) { hex(iir_log[i]); puts(" "); }
  puts("rx='");
  for (uint32_t i = 0; i < rx_count; i++) putc(rx[i]);
  puts("' other="); dec(other_interrupts); puts("\n");
}

void guest_main(void) {
  uart_init();
  puts("Hello from Rewind's multiboot guest (COM1)\n");
  field("magic", entry_eax);
  if (entry_eax != 0x2BADB002) { puts("\nnot booted by a multiboot loader\n"); outb(0xf4, 1); }
  const struct multiboot_info *mbi = (const struct multiboot_info *)entry_ebx;
  field("mbi", entry_ebx);
  field("flags", mbi->flags);
  puts("\n");
  puts("mem_lower="); dec(mbi->mem_lower); puts(" KiB mem_upper="); dec(mbi->mem_upper); puts(" KiB boot_device=");
  hex(mbi->boot_device); puts("\n");
  const char *cmdline = (mbi->flags & 4) ? (const char *)mbi->cmdline : "";
  puts("cmdline='"); puts(cmdline); puts("'\n");
  if (mbi->flags & (1 << 9)) { puts("boot_loader_name='"); puts((const char *)mbi->boot_loader_name); puts("'\n"); }
  /* Where the loader put things (QEMU: after the page-aligned kernel). */
  field("mods_count", mbi->mods_count); field("mods_addr", mbi->mods_addr); field("cmdline_addr", mbi->cmdline);
  field("boot_loader_name_addr", mbi->boot_loader_name); puts("\n");
  if (mbi->flags & (1 << 6)) {
    field("mmap_addr", mbi->mmap_addr); field("mmap_length", mbi->mmap_length); puts("\n");
    for (uint32_t p = mbi->mmap_addr; p < mbi->mmap_addr + mbi->mmap_length;) {
      const struct mmap_entry *e = (const struct mmap_entry *)p;
      puts("  mmap "); hex((uint32_t)(e->addr >> 32)); hex((uint32_t)e->addr); puts(" +");
      hex((uint32_t)(e->len >> 32)); hex((uint32_t)e->len); puts(" type "); dec(e->type); puts("\n");
      p += e->size + 4;
    }
  }
  /* The Multiboot spec's machine state: flat 32-bit protected mode, paging off, IF clear. */
  puts("entry: pe="); dec(entry_cr0 & 1); puts(" pg="); dec(entry_cr0 >> 31); puts(" if="); dec((entry_eflags >> 9) & 1);
  puts(" cs="); hex(entry_sel[0]); puts(" ds="); hex(entry_sel[1]); puts(" ss="); hex(entry_sel[3]); puts("\n");
  if (has(cmdline, "regs")) {
    /* Values the spec leaves undefined (they differ between loaders): shown only when asked. */
    field("esp", entry_esp); field("eflags", entry_eflags); field("cr0", entry_cr0); puts("\n");
    field("es", entry_sel[2]); field("fs", entry_sel[4]); field("gs", entry_sel[5]);
    field("gdt", entry_gdtr.base); field("gdt_limit", entry_gdtr.limit);
    field("idt", entry_idtr.base); field("idt_limit", entry_idtr.limit); puts("\n");
  }
  uart_selftest();
  irq_selftest();
  if (mbi->flags & 8) {
    const uint32_t *mod = (const uint32_t *)mbi->mods_addr;
    for (uint32_t i = 0; i < mbi->mods_count; i++, mod += 4) {
      puts("module "); dec(i); puts(": "); hex(mod[0]); puts("-"); hex(mod[1]); puts(" '"); puts((const char *)mod[2]);
      puts("' starts '");
      for (const char *p = (const char *)mod[0]; p < (const char *)mod[1] && p < (const char *)mod[0] + 12; p++) putc(*p >= ' ' ? *p : '.');
      puts("'\n");
    }
  }
  puts("Bye.\n");
  outb(0xf4, EXIT_VALUE);
  for (;;) __asm__ volatile("hlt");
}
