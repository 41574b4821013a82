/* /init of the virtio-blk acceptance test's initramfs (guests/linux/make-virtio-initramfs.sh builds it):
 * loads Debian's virtio and ext4 modules, mounts /dev/vda (ext4) on /mnt, prints /mnt/hello.txt, appends a line
 * to /mnt/log.txt and prints it, unmounts and powers off. Every step prints an "init:" line on the console.
 * Freestanding (raw system calls, general registers only): no libc string routines with SIMD in them. */
typedef unsigned long u64;

static long sys6(long n, long a, long b, long c, long d, long e) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
  return x0;
}
#define SYS_mkdirat 34
#define SYS_umount2 39
#define SYS_mount 40
#define SYS_openat 56
#define SYS_close 57
#define SYS_read 63
#define SYS_write 64
#define SYS_fsync 82
#define SYS_newfstatat 79
#define SYS_sync 81
#define SYS_nanosleep 101
#define SYS_reboot 142
#define SYS_finit_module 273
#define AT_FDCWD (-100)
#define O_RDONLY 0
#define O_WRONLY 1
#define O_CREAT 0100
#define O_APPEND 02000

static long len(const char *s) { long n = 0; while (s[n]) n++; return n; }
static void put(const char *s) { sys6(SYS_write, 1, (long)s, len(s), 0, 0); }
static long open_(const char *p, long flags, long mode) { return sys6(SYS_openat, AT_FDCWD, (long)p, flags, mode, 0); }

static void stop(void) {
  sys6(SYS_sync, 0, 0, 0, 0, 0);
  sys6(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, 0, 0); /* LINUX_REBOOT_CMD_POWER_OFF */
  for (;;) ;
}

static void cat(const char *path) {
  char buf[256];
  long fd = open_(path, O_RDONLY, 0), n;
  if (fd < 0) { put("init: cannot open "); put(path); put("\n"); return; }
  while ((n = sys6(SYS_read, fd, (long)buf, sizeof buf, 0, 0)) > 0) sys6(SYS_write, 1, (long)buf, n, 0, 0);
  sys6(SYS_close, fd, 0, 0, 0, 0);
}

static const char *const modules[] = {
  "/lib/crc16.ko", "/lib/crc32c_generic.ko", "/lib/mbcache.ko", "/lib/jbd2.ko", "/lib/ext4.ko",
  "/lib/virtio_mmio.ko", "/lib/virtio_blk.ko",
};

void _start(void) {
  sys6(SYS_mount, (long)"devtmpfs", (long)"/dev", (long)"devtmpfs", 0, 0);
  for (unsigned i = 0; i < sizeof modules / sizeof modules[0]; i++) {
    long fd = open_(modules[i], O_RDONLY, 0);
    if (fd < 0 || sys6(SYS_finit_module, fd, (long)"", 0, 0, 0) != 0) { put("init: cannot load "); put(modules[i]); put("\n"); }
    if (fd >= 0) sys6(SYS_close, fd, 0, 0, 0, 0);
  }
  /* The block device node appears when virtio_blk has probed: wait for it a little. */
  char st[128];
  for (int i = 0; i < 100 && sys6(SYS_newfstatat, AT_FDCWD, (long)"/dev/vda", (long)st, 0, 0) != 0; i++) {
    u64 ts[2] = {0, 10000000};
    sys6(SYS_nanosleep, (long)ts, 0, 0, 0, 0);
  }
  sys6(SYS_mkdirat, AT_FDCWD, (long)"/mnt", 0755, 0, 0);
  if (sys6(SYS_mount, (long)"/dev/vda", (long)"/mnt", (long)"ext4", 0, 0) != 0) { put("init: cannot mount /dev/vda\n"); stop(); }
  put("init: mounted /dev/vda\n");
  put("init: hello.txt: ");
  cat("/mnt/hello.txt");
  long fd = open_("/mnt/log.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    const char *line = "written by the guest\n";
    sys6(SYS_write, fd, (long)line, len(line), 0, 0);
    sys6(SYS_fsync, fd, 0, 0, 0, 0);
    sys6(SYS_close, fd, 0, 0, 0, 0);
  }
  put("init: log.txt: ");
  cat("/mnt/log.txt");
  if (sys6(SYS_umount2, (long)"/mnt", 0, 0, 0, 0) != 0) put("init: cannot unmount /mnt\n");
  else put("init: unmounted\n");
  stop();
}
