#!/bin/sh
# systemd generator in the initramfs: for root=ros:<device> ros.image=<slot>,
# mount the device read-only on /run/initramfs/ros/state and the slot's
# squashfs on /sysroot. Written to the "early" generator directory so these
# units replace the sysroot.mount that systemd-fstab-generator makes from
# root= (which it would try to mount as a device called "ros:…").
normal=${1:-/run/systemd/generator}
early=${2:-/run/systemd/generator.early}

root=
live=
image=active
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        root=ros:*) root=${arg#root=ros:} ;;
        root=live:*) live=yes ;;
        ros.image=*) image=${arg#ros.image=} ;;
    esac
done

# A live boot (dmsquash-live with rd.live.overlay.overlayfs): dracut 059's
# generator makes a sysroot.mount of an overlay whose directories
# dmsquash-live-root creates only later, from the initqueue; systemd tries it
# at once and every boot showed "overlayfs: failed to resolve
# '/run/overlayfs'" and a FAILED sysroot.mount before it worked on a retry
# (dracut-ng#431). Mounting after the initqueue has set them up is the order
# the script expects.
if [ -n "$live" ]; then
    mkdir -p "$normal/sysroot.mount.d"
    printf '[Unit]\nAfter=dracut-initqueue.service\n' > "$normal/sysroot.mount.d/10-ros-live.conf"
    exit 0
fi
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
