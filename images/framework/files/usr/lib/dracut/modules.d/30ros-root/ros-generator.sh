#!/bin/sh
# systemd generator in the initramfs: for root=ros:<device> ros.image=<slot>,
# mount the device read-only on /run/initramfs/ros/state and the slot's
# squashfs on /sysroot. Written to the "early" generator directory so these
# units replace the sysroot.mount that systemd-fstab-generator makes from
# root= (which it would try to mount as a device called "ros:…").
early=${2:-/run/systemd/generator.early}

root=
image=active
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        root=ros:*) root=${arg#root=ros:} ;;
        ros.image=*) image=${arg#ros.image=} ;;
    esac
done
[ -n "$root" ] || exit 0

case "$root" in
    LABEL=*) dev="/dev/disk/by-label/${root#LABEL=}" ;;
    UUID=*) dev="/dev/disk/by-uuid/${root#UUID=}" ;;
    PARTLABEL=*) dev="/dev/disk/by-partlabel/${root#PARTLABEL=}" ;;
    *) dev=$root ;;
esac
case "$image" in
    active | passive | recovery) ;;
    *) image=active ;;
esac

mkdir -p "$early/initrd-root-fs.target.requires"
cat > "$early/run-initramfs-ros-state.mount" <<UNIT
[Unit]
Description=ros: the partition holding the OS images
DefaultDependencies=no
Before=initrd-root-fs.target

[Mount]
What=$dev
Where=/run/initramfs/ros/state
Options=ro
UNIT

cat > "$early/sysroot.mount" <<UNIT
[Unit]
Description=ros: the $image image as the read-only root
DefaultDependencies=no
Before=initrd-root-fs.target
Requires=run-initramfs-ros-state.mount
After=run-initramfs-ros-state.mount

[Mount]
What=/run/initramfs/ros/state/cOS/$image/rootfs.squashfs
Where=/sysroot
Type=squashfs
Options=ro,loop
UNIT
ln -sf ../sysroot.mount "$early/initrd-root-fs.target.requires/sysroot.mount"
