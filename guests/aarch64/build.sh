#!/bin/sh
# build.sh - rebuilds the demo guests (*.elf, hello.bin) from source.
#
# The built files are committed, so users need no cross compiler; run this after editing
# a source file. Needs Debian's gcc-aarch64-linux-gnu (or CROSS_COMPILE=<prefix>).
# The output is reproducible: same compiler + same sources = same bytes.
set -eu

cd "$(dirname "$0")"
CROSS_COMPILE=${CROSS_COMPILE:-aarch64-linux-gnu-}
CC=${CROSS_COMPILE}gcc
OBJCOPY=${CROSS_COMPILE}objcopy

# Code generation: ARMv8.0 integer code (+CRC32 for compute.c), nothing from libc/libgcc.
#  -mgeneral-regs-only  no FP/SIMD registers, so the instruction mix stays integer-only
#  -mstrict-align       the MMU is off, so all data accesses are Device memory, where an
#                       unaligned access faults; never let GCC merge accesses unaligned
#  -fno-tree-loop-distribute-patterns
#                       keep GCC from turning lib.c's memset/memcpy loops into calls to
#                       memset/memcpy (themselves)
#  -mno-outline-atomics, -mbranch-protection=none
#                       Debian defaults we do not want: no libgcc helpers, no PAC/BTI
# Reproducibility: -ffile-prefix-map hides the build directory in the debug info,
# --build-id=none drops the build ID note (and guest.ld discards .comment).
ARCH_FLAGS="-march=armv8-a+crc -mtune=cortex-a53 -mgeneral-regs-only -mstrict-align \
  -mno-outline-atomics -mbranch-protection=none"
CFLAGS="$ARCH_FLAGS -ffreestanding -fno-builtin -fno-pie -fno-stack-protector \
  -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
  -ffile-prefix-map=$(pwd)=. -g -Wall -Wextra -Werror ${EXTRA_CFLAGS:-}"
LDFLAGS="-nostdlib -static -no-pie -T guest.ld -Wl,--build-id=none -Wl,-z,max-page-size=4096"

OUT=${OUT:-.}     # where the guests go (measure.sh builds a variant elsewhere)
OBJ=$(mktemp -d)
trap 'rm -rf "$OBJ"' EXIT

# The shared runtime: entry/vectors, console/PSCI, GIC.
$CC $CFLAGS -O2 -c start.S -o "$OBJ/start.o"
$CC $CFLAGS -O2 -c lib.c -o "$OBJ/lib.o"
$CC $CFLAGS -O2 -c gic.c -o "$OBJ/gic.o"
RUNTIME="$OBJ/start.o $OBJ/lib.o $OBJ/gic.o"

# guest NAME SOURCE EXTRA_CFLAGS...
guest() {
  name=$1 src=$2
  shift 2
  $CC $CFLAGS "$@" -c "$src" -o "$OBJ/$name.o"
  $CC $CFLAGS $LDFLAGS $RUNTIME "$OBJ/$name.o" -o "$OUT/$name.elf"
  echo "built $OUT/$name.elf"
}

build() {
  case $1 in
    hello)
      guest hello hello.c -O2
      # The same program as a raw Linux arm64 Image (start.S begins with the Image header).
      $OBJCOPY -O binary "$OUT/hello.elf" "$OUT/hello.bin"
      echo "built $OUT/hello.bin" ;;
    compute)       guest compute compute.c -O2 ;;
    compute-small) guest compute-small compute.c -O2 -DCOMPUTE_ROUNDS=4 ;;
    compute-long)  guest compute-long compute.c -O2 -DCOMPUTE_ROUNDS=610 ;; # ~1e9 instructions (bench depths)
    ticks)         guest ticks ticks.c -O2 ;;
    echo)          guest echo echo.c -O2 ;;
    busy)          guest busy busy.c -O2 ;;
    busy-gic)      guest busy-gic busy-gic.c -O2 ;;
    remap)         guest remap remap.c -O2 ;;
    buggy)         guest buggy buggy.c -O0 ;; # -O0: every variable lives in memory, easy to debug
    selfdebug)     guest selfdebug selfdebug.c -O2 ;;
    *) echo "build.sh: unknown guest '$1'" >&2; exit 2 ;;
  esac
}

# ./build.sh             builds every guest
# ./build.sh hello ticks builds just those
for g in ${@:-hello compute compute-small compute-long ticks echo busy busy-gic remap buggy selfdebug}; do
  build "$g"
done
