/*
 * The x86 instruction oracle's driver: runs single x86-64 instructions natively (on an x86-64 host) on given
 * register values and flags, and prints what they leave, so that Rewind's x86 semantics can be compared with a
 * real processor. Built with the host's gcc by test/helpers/x86-oracle.ts.
 *
 * stdin: records of 416 bytes (little-endian): regs[16] (u64, by register number; rsp's slot is ignored),
 *        rflags u64 (only CF PF AF ZF SF OF DF are taken), insn[16] (the instruction's bytes), length u32, pad u32,
 *        memory[256] (the data at DATA_ADDRESS)
 * stdout: the same record after the instruction: regs, rflags, memory; `length` holds the status (0 ran, else
 *        the signal)
 *
 * The instruction runs at CODE_ADDRESS (0x200000, for RIP-relative operands); memory operands must lie in the 256
 * bytes at DATA_ADDRESS (0x201000). It must not use rsp (the harness owns the stack).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CODE_ADDRESS 0x200000UL
#define DATA_ADDRESS 0x201000UL

struct state {
  uint64_t regs[16];
  uint64_t rflags;
  uint8_t insn[16];
  uint32_t length, pad;
  uint8_t memory[256];
};

extern void run_stub(struct state *s, void *stub);
__asm__(
    ".intel_syntax noprefix\n"
    ".global run_stub\n"
    "run_stub:\n"
    "  push rbx\n push rbp\n push r12\n push r13\n push r14\n push r15\n"
    "  push rdi\n"              /* the state */
    "  push rsi\n"              /* the stub */
    "  mov rax, [rdi + 128]\n"
    "  and rax, 0xcd5\n"        /* CF PF AF ZF SF DF OF */
    "  or rax, 0x202\n"         /* IF and the reserved bit 1 */
    "  push rax\n popfq\n"
    "  mov rax, [rdi + 0]\n mov rcx, [rdi + 8]\n mov rdx, [rdi + 16]\n mov rbx, [rdi + 24]\n"
    "  mov rbp, [rdi + 40]\n mov rsi, [rdi + 48]\n"
    "  mov r8, [rdi + 64]\n mov r9, [rdi + 72]\n mov r10, [rdi + 80]\n mov r11, [rdi + 88]\n"
    "  mov r12, [rdi + 96]\n mov r13, [rdi + 104]\n mov r14, [rdi + 112]\n mov r15, [rdi + 120]\n"
    "  mov rdi, [rdi + 56]\n"
    "  call [rsp]\n"
    "  pushfq\n"                /* [rsp] flags, [rsp+8] stub, [rsp+16] state */
    "  push rdi\n"              /* [rsp] rdi, [rsp+8] flags, [rsp+16] stub, [rsp+24] state */
    "  mov rdi, [rsp + 24]\n"
    "  mov [rdi + 0], rax\n mov [rdi + 8], rcx\n mov [rdi + 16], rdx\n mov [rdi + 24], rbx\n"
    "  mov [rdi + 40], rbp\n mov [rdi + 48], rsi\n"
    "  mov [rdi + 64], r8\n mov [rdi + 72], r9\n mov [rdi + 80], r10\n mov [rdi + 88], r11\n"
    "  mov [rdi + 96], r12\n mov [rdi + 104], r13\n mov [rdi + 112], r14\n mov [rdi + 120], r15\n"
    "  pop rax\n mov [rdi + 56], rax\n"
    "  pop rax\n mov [rdi + 128], rax\n"
    "  cld\n"
    "  add rsp, 16\n"
    "  pop r15\n pop r14\n pop r13\n pop r12\n pop rbp\n pop rbx\n"
    "  ret\n"
    ".att_syntax\n");

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
  uint8_t *stub = mmap((void *)CODE_ADDRESS, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (stub == MAP_FAILED) return 2;
  uint8_t *data = (uint8_t *)DATA_ADDRESS;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGILL, &sa, 0);
  sigaction(SIGSEGV, &sa, 0);
  sigaction(SIGBUS, &sa, 0);
  sigaction(SIGFPE, &sa, 0);
  sigaction(SIGTRAP, &sa, 0);
  struct state s;
  static struct state out;
  while (read_all(&s, sizeof s)) {
    if (s.length > 15) s.length = 15;
    memcpy(stub, s.insn, s.length);
    stub[s.length] = 0xc3; /* ret */
    memcpy(data, s.memory, sizeof s.memory);
    out = s;
    caught = 0;
    if (sigsetjmp(escape, 1) == 0) {
      run_stub(&out, stub);
      out.length = 0;
      memcpy(out.memory, data, sizeof out.memory);
    } else {
      out = s;
      out.length = (uint32_t)caught;
    }
    write_all(&out, sizeof out);
  }
  return 0;
}
