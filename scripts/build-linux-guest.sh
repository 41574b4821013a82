#!/usr/bin/env bash
# Builds the Linux guest for `rewind demo linux` and the Linux tests, from Debian's packages (nothing large is
# committed): Debian's arm64 kernel (scripts/fetch-debian-kernel.sh), busybox-static:arm64 as userland, and from
# them, reproducibly (same inputs, same bytes):
#   .cache/linux/initramfs.cpio.gz   busybox + /init + the modules an ext4 root on virtio-blk needs, for -initrd
#   .cache/linux/root.img            the same tree as a 32 MiB ext4 file system (raw), for root=/dev/vda
#   .cache/linux/root.qcow2          the same as qcow2 (when qemu-img is installed)
#   .cache/linux/modules.package     the linux-image package the modules come from (the kernel's)
# Debian builds virtio_mmio, virtio_blk and ext4 as modules, so the initramfs /init loads them (busybox insmod);
# with root= on the kernel command line it mounts that device and switch_roots into it (its /sbin/init is the same
# script, which then only gives the shell); without root= the shell runs in the initramfs.
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

MODULES="crc16 crc32c_generic mbcache jbd2 ext4 virtio_mmio virtio_blk"
kpkg=$(cat .cache/kernels/vmlinuz-arm64.package)
if [ ! -d "$dest/modules" ] || [ "$(cat "$dest/modules.package" 2>/dev/null)" != "$kpkg" ]; then
  kwork=$(mktemp -d)
  (cd "$kwork" && apt-get download -qq "$kpkg:arm64" 2>/dev/null)
  dpkg-deb --fsys-tarfile "$kwork"/*.deb | tar -x -C "$kwork" --wildcards './lib/modules/*/kernel/*'
  rm -rf "$dest/modules" && mkdir -p "$dest/modules"
  for m in $MODULES; do cp "$(find "$kwork/lib/modules" -name "$m.ko" | head -n 1)" "$dest/modules/"; done
  rm -rf "$kwork"
  echo "$kpkg" > "$dest/modules.package"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage" ${work:+"$work"}' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc,newroot,lib/modules}
cp "$dest/busybox" "$stage/bin/busybox"
for m in $MODULES; do cp "$dest/modules/$m.ko" "$stage/lib/modules/"; done
ln -s busybox "$stage/bin/sh"
cat > "$stage/init" <<'INIT'
#!/bin/busybox sh
# Rewind's Linux guest: mount the kernel file systems, install busybox's applets, load the disk modules; with
# root=DEV on the kernel command line, mount DEV and switch_root into it (whose /sbin/init is this script again,
# told by REWIND_ROOT that it runs on the disk); then a shell on the console.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev 2>/dev/null
if [ -z "$REWIND_ROOT" ]; then
  for m in crc16 crc32c_generic mbcache jbd2 ext4 virtio_mmio virtio_blk; do $bb insmod /lib/modules/$m.ko; done
  root=
  for a in $($bb cat /proc/cmdline); do case "$a" in root=*) root=${a#root=} ;; esac; done
  if [ -n "$root" ]; then
    n=0
    while [ ! -b "$root" ] && [ $n -lt 50 ]; do $bb sleep 0.1; n=$((n + 1)); done
    if $bb mount -t ext4 -o rw "$root" /newroot; then
      $bb umount /proc /sys
      $bb mount --move /dev /newroot/dev 2>/dev/null || $bb umount /dev
      export REWIND_ROOT="$root"
      exec $bb switch_root /newroot /sbin/init
    fi
    echo "init: cannot mount $root; staying in the initramfs"
  fi
fi
# On the disk the applets are not installed (that would write the disk at every boot): busybox sh runs them itself.
[ -n "$REWIND_ROOT" ] || $bb --install -s
echo "Rewind Linux guest: busybox $($bb | $bb head -n 1 | $bb cut -d' ' -f2), root ${REWIND_ROOT:-initramfs}. 'poweroff -f' ends the run."
exec /bin/sh
INIT
chmod 755 "$stage/init"
ln -s ../init "$stage/sbin/init"
echo "rewind" > "$stage/etc/hostname"
find "$stage" -exec touch -h -d @0 {} +

node dist/src/tools/initramfs.js "$stage" "$dest/initramfs.cpio.gz" --dev-console
# ext4 with a fixed UUID, hash seed and time (1, not 0: e2fsprogs takes a fake time of 0 as none): the same image every time.
rm -f "$dest/root.img"
SOURCE_DATE_EPOCH=1 E2FSPROGS_FAKE_TIME=1 mke2fs -q -t ext4 -F -d "$stage" -L rewind-root \
  -U 6d5e0a1c-7b3f-4c2a-9e1d-52a7f0c3b4e8 -E hash_seed=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0,root_owner=0:0 \
  "$dest/root.img" 32M
# mke2fs -d copies each file's atime and ctime, which are the time this script ran: set them to 0 as the mtimes.
(cd "$stage" && find . -mindepth 1 | sort | sed 's|^\.||' | while read -r f; do echo "sif $f atime 0"; echo "sif $f ctime 0"; done) \
  > "$stage.debugfs"
E2FSPROGS_FAKE_TIME=1 debugfs -w -f "$stage.debugfs" "$dest/root.img" >/dev/null 2>&1
rm -f "$stage.debugfs"
if command -v qemu-img >/dev/null; then
  rm -f "$dest/root.qcow2"
  qemu-img convert -f raw -O qcow2 "$dest/root.img" "$dest/root.qcow2"
fi
echo "built $dest/initramfs.cpio.gz, $dest/root.img${HAVE_QCOW2:-}$( [ -f "$dest/root.qcow2" ] && echo ", $dest/root.qcow2")"
