/*
 * The instruction oracle's driver: runs single A64 instructions on given register values and prints what they
 * leave, so that Rewind's interpreter can be compared with another implementation of the architecture
 * (qemu-aarch64 from Debian's qemu-user, or an arm64 host). Built static with aarch64-linux-gnu-gcc by
 * test/helpers/a64-oracle.ts.
 *
 * stdin: records of 208 bytes (little-endian):   insn u32, fpcr u32, nzcv u32 (bits 31:28), reserved u32,
 *                                                x0..x7 (8 x u64), v0..v7 (8 x 16 bytes)
 * stdout: one record of 208 bytes per input:     status u32 (0 ran, 1 SIGILL, 2 another signal), fpsr u32,
 *                                                nzcv u32, reserved u32, x0..x7, v0..v7 after the instruction
 *
 * The instruction may use x0-x7 and v0-v7 only (x9-x11 and x30 are the harness's). FPSR is cleared before it.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct state {
  uint32_t insn, fpcr, nzcv, reserved;
  uint64_t x[8];
  uint8_t v[8][16];
};

/* Loads the state at x9, calls the stub at x10, stores the state back (fpsr in `reserved`, then swapped). */
extern void run_stub(struct state *s, void *stub);
__asm__(
    ".global run_stub\n"
    "run_stub:\n"
    "  stp x29, x30, [sp, #-16]!\n"
    "  mov x9, x0\n"
    "  mov x10, x1\n"
    "  ldr w11, [x9, #4]\n"
    "  msr fpcr, x11\n"
    "  msr fpsr, xzr\n"
    "  ldr w11, [x9, #8]\n"
    "  msr nzcv, x11\n"
    "  ldp q0, q1, [x9, #80]\n"
    "  ldp q2, q3, [x9, #112]\n"
    "  ldp q4, q5, [x9, #144]\n"
    "  ldp q6, q7, [x9, #176]\n"
    "  ldp x0, x1, [x9, #16]\n"
    "  ldp x2, x3, [x9, #32]\n"
    "  ldp x4, x5, [x9, #48]\n"
    "  ldp x6, x7, [x9, #64]\n"
    "  blr x10\n"
    "  stp x0, x1, [x9, #16]\n"
    "  stp x2, x3, [x9, #32]\n"
    "  stp x4, x5, [x9, #48]\n"
    "  stp x6, x7, [x9, #64]\n"
    "  stp q0, q1, [x9, #80]\n"
    "  stp q2, q3, [x9, #112]\n"
    "  stp q4, q5, [x9, #144]\n"
    "  stp q6, q7, [x9, #176]\n"
    "  mrs x11, nzcv\n"
    "  str w11, [x9, #8]\n"
    "  mrs x11, fpsr\n"
    "  str w11, [x9, #12]\n"
    "  mov x11, #0\n"
    "  msr fpcr, x11\n"
    "  ldp x29, x30, [sp], #16\n"
    "  ret\n");

static sigjmp_buf escape;
static volatile int caught;

static void on_signal(int sig) {
  caught = sig;
  siglongjmp(escape, 1);
}

static int read_all(void *buf, size_t n) {
  uint8_t *p = buf;
  while (n > 0) {
    ssize_t r = read(0, p, n);
    if (r <= 0) return 0;
    p += r;
    n -= (size_t)r;
  }
  return 1;
}

static void write_all(const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w <= 0) _exit(3);
    p += w;
    n -= (size_t)w;
  }
}

int main(void) {
  /* One stub per distinct instruction word in a row: `insn; ret`. */
  uint32_t *stub = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stub == MAP_FAILED) return 2;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGILL, &sa, 0);
  sigaction(SIGSEGV, &sa, 0);
  sigaction(SIGBUS, &sa, 0);
  sigaction(SIGFPE, &sa, 0);
  sigaction(SIGTRAP, &sa, 0);
  uint32_t loaded = 0;
  int have = 0;
  struct state s;
  static struct state out;
  while (read_all(&s, sizeof s)) {
    if (!have || s.insn != loaded) {
      stub[0] = s.insn;
      stub[1] = 0xd65f03c0; /* ret */
      __builtin___clear_cache((char *)stub, (char *)(stub + 2));
      loaded = s.insn;
      have = 1;
    }
    out = s;
    caught = 0;
    uint32_t status = 0;
    if (sigsetjmp(escape, 1) == 0) {
      run_stub(&out, stub);
    } else {
      status = caught == SIGILL ? 1 : 2;
      out = s;
      out.reserved = 0;
    }
    uint32_t fpsr = out.reserved;
    out.reserved = 0;
    out.insn = status;
    out.fpcr = fpsr;
    write_all(&out, sizeof out);
  }
  return 0;
}
