#!/bin/sh
# measure.sh - counts the instructions the guests execute, with QEMU as the meter.
#
# Builds a variant of the guests in which poweroff() prints CNTVCT_EL0 (-DREPORT_COUNTER)
# into a temporary directory and runs it under `-icount shift=0,sleep=off`: QEMU then
# advances virtual time 1 ns per instruction, and the architected counter (62.5 MHz on
# virt) one tick per 16 instructions, starting from 0 at reset. So instructions =
# 16 x CNTVCT, to within 16. Only guests that never sleep are meaningful here: while a
# CPU waits in WFI for a timer, icount jumps virtual time ahead (ticks), and echo
# would wait for input.
#
# SHIFT=N runs under -icount shift=N instead (2^N ns per instruction, so one counter tick
# is 16 / 2^N instructions). busy and busy-gic never sleep, but their timer intervals are
# in counter ticks, so how many instructions they run depends on the shift: measure
# them with SHIFT=7, the shift of the tests.
# -net none: QEMU's default network card needs efi-virtio.rom (Debian's ipxe-qemu).
#
# Usage: [SHIFT=N] ./measure.sh [guest...]      default: hello compute-small compute buggy
set -eu
cd "$(dirname "$0")"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
guests=${*:-hello compute-small compute buggy}
SHIFT=${SHIFT:-0}
# shellcheck disable=SC2086
OUT=$OUT EXTRA_CFLAGS=-DREPORT_COUNTER ./build.sh $guests >/dev/null

for g in $guests; do
  ticks=$(qemu-system-aarch64 -M virt -cpu cortex-a53 -nographic -net none \
            -icount "shift=$SHIFT,sleep=off" -kernel "$OUT/$g.elf" 2>/dev/null </dev/null |
          sed -n 's/.*\[CNTVCT_EL0 = \([0-9]*\)\].*/\1/p')
  if [ -z "$ticks" ]; then
    echo "$g: no counter report (did it run to poweroff?)" >&2
    exit 1
  fi
  echo "$g: $(((ticks << 4) >> SHIFT)) instructions (CNTVCT_EL0 = $ticks, shift=$SHIFT)"
done
