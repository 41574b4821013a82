#!/usr/bin/env bash
# Builds .cache/linux-virtio/initramfs.cpio.gz for the virtio-blk acceptance test: a static /init
# (virtio-init.c, built with aarch64-linux-gnu-gcc) and the modules Debian's arm64 kernel needs for an ext4
# root on virtio-mmio (virtio_mmio, virtio_blk, ext4, jbd2, mbcache, crc16, crc32c_generic), taken from the same
# linux-image package as .cache/kernels/vmlinuz-arm64 (apt-get download; needs the arm64 architecture, as
# scripts/fetch-debian-kernel.sh sets up). Nothing built here is committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.cache/linux-virtio
out="$dest/initramfs.cpio.gz"
if [ -s "$out" ]; then echo "already there: $out"; exit 0; fi
pkg=$(cat .cache/kernels/vmlinuz-arm64.package)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq "$pkg:arm64" 2>/dev/null)
dpkg-deb --fsys-tarfile "$work"/*.deb | tar -x -C "$work" --wildcards './lib/modules/*/kernel/*'
mkdir -p "$work/root/lib" "$work/root/dev" "$work/root/mnt"
for m in crc16 crc32c_generic mbcache jbd2 ext4 virtio_mmio virtio_blk; do
  cp "$(find "$work/lib/modules" -name "$m.ko" | head -n 1)" "$work/root/lib/"
done
aarch64-linux-gnu-gcc -static -nostdlib -ffreestanding -fno-builtin -mgeneral-regs-only -Os -o "$work/root/init" guests/linux/virtio-init.c
mkdir -p "$dest"
(cd "$work/root" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$out.tmp"
mv "$out.tmp" "$out"
echo "built $out"
