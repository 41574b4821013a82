#!/usr/bin/env bash
# Fetches Debian's arm64 Linux kernel (linux-image-*-arm64) and extracts its vmlinuz to
# .cache/kernels/vmlinuz-arm64, for the acceptance test that boots it as QEMU's test boots Fedora's.
# Needs root (dpkg --add-architecture) and Debian's package archive. Nothing large is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/kernels
mkdir -p "$dest"
if [ -s "$dest/vmlinuz-arm64" ]; then echo "already there: $dest/vmlinuz-arm64"; exit 0; fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update -qq
fi
pkg=$(apt-cache search --names-only '^linux-image-[0-9][0-9.]*-[0-9]+-arm64$' | awk '{print $1}' | sort -V | tail -n 1)
[ -n "$pkg" ] || { echo "no linux-image-*-arm64 package found" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq "$pkg:arm64" 2>/dev/null)
dpkg-deb --fsys-tarfile "$work"/*.deb | tar -x -C "$work" --wildcards './boot/vmlinuz-*'
mv "$work"/boot/vmlinuz-* "$dest/vmlinuz-arm64"
echo "$pkg" > "$dest/vmlinuz-arm64.package"
echo "fetched $pkg -> $dest/vmlinuz-arm64"
