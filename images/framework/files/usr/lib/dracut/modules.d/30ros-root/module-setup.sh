#!/bin/bash
# ros-root: boot an installed ros system. The chosen A/B image (a squashfs
# on COS_STATE, or the recovery image on COS_RECOVERY) becomes a read-only /;
# /etc and /srv are overlays on a tmpfs (writable, gone at reboot); /tmp is a
# tmpfs; the paths listed in the image's /usr/lib/ros/persistent-paths (/var
# among them) are overlays over the image with their upper layer on
# COS_PERSISTENT (setup-ros-root.sh); COS_OEM is /oem. On a live boot, only
# ros-generator's fix of dmsquash-live's overlay ordering, and on a network
# boot the medium's view (netboot-medium.sh).
# Kernel command line: root=ros:LABEL=COS_STATE ros.image=active

check() {
    # only when asked for (dracut.conf.d add_dracutmodules)
    return 255
}

depends() {
    echo fs-lib
    return 0
}

installkernel() {
    hostonly='' instmods squashfs loop overlay ext4 vfat
}

install() {
    inst_multiple mount umount mkdir cp mv rm cat ln readlink tee
    inst_script "$moddir/ros-generator.sh" "$systemdutildir/system-generators/ros-generator"
    inst_hook cmdline 20 "$moddir/parse-ros-root.sh"
    inst_hook pre-pivot 20 "$moddir/setup-ros-root.sh"
    inst_hook pre-pivot 30 "$moddir/netboot-medium.sh"
}
