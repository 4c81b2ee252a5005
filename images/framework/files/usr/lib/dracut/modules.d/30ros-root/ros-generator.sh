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
# generator makes a sysroot.mount of an overlay whose upper and work
# directories only its "mount" hook (90overlayfs) creates, and that hook runs
# after /sysroot should already be mounted: every boot showed "overlayfs:
# failed to resolve '/run/overlayfs'" and a FAILED sysroot.mount before the
# hook mounted the overlay itself (dracut-ng#431). Making the two directories
# once the initqueue has mounted the image (/run/rootfsbase), right before
# sysroot.mount, is what the hook does; it then finds the root mounted and
# leaves it. (With rd.live.overlay.reset the hook still resets a persistent
# overlay, below a mounted root: such media are not ours.)
if [ -n "$live" ]; then
    cat > "$normal/ros-live-overlay-dirs.service" <<'UNIT'
[Unit]
Description=ros: the live overlay's directories, before /sysroot is mounted
DefaultDependencies=no
After=dracut-initqueue.service
Before=sysroot.mount

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=mkdir -m 0755 -p /run/overlayfs /run/ovlwork
UNIT
    mkdir -p "$normal/sysroot.mount.d"
    printf '[Unit]\nWants=ros-live-overlay-dirs.service\nAfter=ros-live-overlay-dirs.service\n' > "$normal/sysroot.mount.d/10-ros-live.conf"
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
