#!/usr/bin/env bash
# Builds the bundled x86 guests (flat BIOS images for the pc board) with the host's GNU binutils.
# The built images are committed, so nobody needs binutils to run them.
set -euo pipefail
cd "$(dirname "$0")"
for g in ${@:-hello}; do
  as --32 -o "$g.o" "$g.S"
  ld -m elf_i386 -Ttext 0 --oformat binary -o "$g.bin" "$g.o"
  rm -f "$g.o"
  size=$(stat -c %s "$g.bin")
  [ "$size" -eq 65536 ] || { echo "$g.bin is $size bytes, not 64 KiB" >&2; exit 1; }
  echo "built $g.bin"
done
