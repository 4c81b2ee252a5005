#!/bin/sh
# pre-pivot hook, network boots only (livenet: root=live:http…/rootfs.squashfs
# fetched into RAM, no ISO mounted on /run/initramfs/live). The boot loader
# handed the kernel a second initrd, medium.cpio, whose /ros/ tree is the one
# the ISO carries (the installer's boot pieces, the cloud-config). Give the
# live system the same view of its medium an ISO gives, so the config sources,
# the live console and `ros install` work unchanged:
#   /run/initramfs/live/ros/              the tree from medium.cpio
#   /run/initramfs/live/LiveOS/squashfs.img -> the loop device holding the
#                                         downloaded squashfs (its only copy in RAM)
#   /run/initramfs/live/boot/{vmlinuz,initrd} -> the image's own /boot files,
#                                         the bytes the boot loader fetched
# Sourced by dracut: no exit, only return.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

ros_netboot_medium() {
    _live=/run/initramfs/live
    [ -d /ros ] || return 0
    # An ISO (also one fetched by livenet) is mounted there and carries its own /ros/.
    ismounted "$_live" && return 0
    _image=$(readlink /run/initramfs/livedev)
    _loop=
    for _b in /sys/block/loop*; do
        [ "$(cat "$_b/loop/backing_file" 2>/dev/null)" = "$_image" ] && _loop=/dev/${_b##*/} && break
    done
    mkdir -p "$_live/LiveOS" "$_live/boot"
    cp -a /ros "$_live/"
    [ -n "$_loop" ] && ln -sf "$_loop" "$_live/LiveOS/squashfs.img"
    for _f in "$NEWROOT"/boot/vmlinuz-*; do [ -f "$_f" ] && ln -sf "/boot/${_f##*/}" "$_live/boot/vmlinuz"; done
    for _f in "$NEWROOT"/boot/initrd.img-* "$NEWROOT"/boot/initrd-*; do [ -f "$_f" ] && ln -sf "/boot/${_f##*/}" "$_live/boot/initrd"; done
    # To the console too: quiet keeps kernel notices off it, and this is the line that says where the system came from.
    echo "ros: network boot: the live medium is ${_image:-unknown} (${_loop:-no loop device}) with /ros from medium.cpio" | tee /dev/kmsg > /dev/console
}

ros_netboot_medium
