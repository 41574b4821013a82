#!/usr/bin/env bash
# Builds the bundled x86 guests with the host's GNU toolchain: flat BIOS images for the pc board (binutils), and
# the Multiboot kernel (gcc -m32, freestanding) as an ELF and as a flat a.out-kludge image.
# The built images are committed, so nobody needs the toolchain to run them.
set -euo pipefail
cd "$(dirname "$0")"

build_bios() {
  local g=$1
  as --32 -o "$g.o" "$g.S"
  ld -m elf_i386 -Ttext 0 --oformat binary -o "$g.bin" "$g.o"
  rm -f "$g.o"
  size=$(stat -c %s "$g.bin")
  [ "$size" -eq 65536 ] || { echo "$g.bin is $size bytes, not 64 KiB" >&2; exit 1; }
  echo "built $g.bin"
}

MB_CFLAGS="-m32 -ffreestanding -fno-pic -fno-pie -no-pie -static -fno-stack-protector -fno-asynchronous-unwind-tables
  -nostdlib -O2 -Wall -Wextra -mgeneral-regs-only -Wl,-T,multiboot.ld -Wl,--build-id=none -Wl,-n -Wl,--no-warn-rwx-segments"

build_multiboot() {
  # shellcheck disable=SC2086
  gcc $MB_CFLAGS -o multiboot.elf multiboot-entry.S multiboot.c
  # shellcheck disable=SC2086
  gcc $MB_CFLAGS -DAOUT_KLUDGE -o multiboot-aout.tmp multiboot-entry.S multiboot.c
  objcopy -O binary multiboot-aout.tmp multiboot-aout.bin
  rm -f multiboot-aout.tmp
  echo "built multiboot.elf multiboot-aout.bin"
}

for g in ${@:-hello}; do
  if [ "$g" = multiboot ]; then build_multiboot; else build_bios "$g"; fi
done
