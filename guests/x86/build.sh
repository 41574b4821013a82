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

# Objects with fixed names (no compiler temporaries in the symbol table), so a rebuild with the same gcc is
# byte for byte the committed image (test/x86/pc-multiboot.test.ts checks it with gcc 12.2).
MB_CFLAGS="-m32 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables -O2 -Wall -Wextra
  -mgeneral-regs-only"
MB_LDFLAGS="-m32 -nostdlib -no-pie -static -Wl,-T,multiboot.ld -Wl,--build-id=none -Wl,-n -Wl,--no-warn-rwx-segments"

build_multiboot_image() {
  local out=$1; shift
  # shellcheck disable=SC2086
  gcc $MB_CFLAGS "$@" -c -o multiboot-entry.o multiboot-entry.S
  # shellcheck disable=SC2086
  gcc $MB_CFLAGS "$@" -c -o multiboot.o multiboot.c
  # shellcheck disable=SC2086
  gcc $MB_LDFLAGS -o "$out" multiboot-entry.o multiboot.o
  rm -f multiboot-entry.o multiboot.o
}

build_multiboot() {
  build_multiboot_image multiboot.elf
  build_multiboot_image multiboot-aout.tmp -DAOUT_KLUDGE
  objcopy -O binary multiboot-aout.tmp multiboot-aout.bin
  rm -f multiboot-aout.tmp
  echo "built multiboot.elf multiboot-aout.bin"
}

# Guests: hello pmode tsc paging compute (BIOS images), multiboot.
for g in ${@:-hello}; do
  if [ "$g" = multiboot ]; then build_multiboot; else build_bios "$g"; fi
done
