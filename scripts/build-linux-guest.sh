#!/usr/bin/env bash
# Builds the Linux guest for `rewind demo linux` and the Linux tests, from Debian's packages (nothing large is
# committed): Debian's arm64 kernel (scripts/fetch-debian-kernel.sh), busybox-static:arm64 as userland, and from
# them, reproducibly (same inputs, same bytes):
#   .cache/linux/initramfs.cpio.gz   busybox + /init, for -initrd
#   .cache/linux/root.img            the same tree as a 32 MiB ext4 file system (raw), for root=/dev/vda
#   .cache/linux/root.qcow2          the same as qcow2 (when qemu-img is installed)
# Needs root (dpkg --add-architecture arm64) the first time, Debian's archive, e2fsprogs (mke2fs), and a built
# Rewind (npm install) for the initramfs writer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-debian-kernel.sh
dest=.cache/linux
mkdir -p "$dest"
[ -f dist/src/tools/initramfs.js ] || npx tsc -p tsconfig.json

if [ ! -s "$dest/busybox" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq busybox-static:arm64 2>/dev/null)
  dpkg-deb --fsys-tarfile "$work"/*.deb | tar -x -C "$work" ./bin/busybox
  mv "$work/bin/busybox" "$dest/busybox"
  dpkg-deb -f "$work"/*.deb Package Version | tr '\n' ' ' > "$dest/busybox.package"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage" ${work:+"$work"}' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc}
cp "$dest/busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cat > "$stage/init" <<'INIT'
#!/bin/busybox sh
# Rewind's Linux guest: mount the kernel file systems, install busybox's applets, give a shell on the console.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox --install -s
echo "Rewind Linux guest: busybox $(/bin/busybox | /bin/busybox head -n 1 | /bin/busybox cut -d' ' -f2). 'poweroff -f' ends the run."
exec /bin/sh
INIT
chmod 755 "$stage/init"
ln -s ../init "$stage/sbin/init"
echo "rewind" > "$stage/etc/hostname"
find "$stage" -exec touch -h -d @0 {} +

node dist/src/tools/initramfs.js "$stage" "$dest/initramfs.cpio.gz" --dev-console
# ext4 with a fixed UUID, hash seed and time: the same image every time.
rm -f "$dest/root.img"
SOURCE_DATE_EPOCH=0 E2FSPROGS_FAKE_TIME=0 mke2fs -q -t ext4 -F -d "$stage" -L rewind-root \
  -U 6d5e0a1c-7b3f-4c2a-9e1d-52a7f0c3b4e8 -E hash_seed=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0,root_owner=0:0 \
  "$dest/root.img" 32M
if command -v qemu-img >/dev/null; then
  rm -f "$dest/root.qcow2"
  qemu-img convert -f raw -O qcow2 "$dest/root.img" "$dest/root.qcow2"
fi
echo "built $dest/initramfs.cpio.gz, $dest/root.img${HAVE_QCOW2:-}$( [ -f "$dest/root.qcow2" ] && echo ", $dest/root.qcow2")"
