#!/bin/sh
# pre-pivot hook: the image is on $NEWROOT (ros-generator's sysroot.mount);
# make the ephemeral and persistent paths and /oem before switching root.
# Sourced by dracut: no exit, only return.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

ROS_RUN=/run/initramfs/ros
# Writable but ephemeral: an overlay over the image's directory, on a tmpfs.
ROS_EPHEMERAL="etc var srv"

# To the journal and to the console (quiet hides kernel notices there).
ros_log() {
    echo "ros: $*" > /dev/kmsg
    echo "ros: $*" > /dev/console
}

ros_mount_once() {
    # ros_mount_once TARGET mount-args…
    _target=$1
    shift
    ismounted "$_target" && return 0
    mkdir -p "$_target"
    mount "$@" "$_target"
}

ros_mount_overlays() {
    ros_mount_once "$ROS_RUN/overlay" -t tmpfs -o mode=0755,size=50% tmpfs || return 1
    # Every program started here costs tens of milliseconds under emulation:
    # one mkdir for all the directories, tests in the shell.
    _dirs=
    for _dir in $ROS_EPHEMERAL; do
        [ -d "$NEWROOT/$_dir" ] && _dirs="$_dirs $ROS_RUN/overlay/$_dir/upper $ROS_RUN/overlay/$_dir/work"
    done
    [ -z "$_dirs" ] || mkdir -p $_dirs || return 1
    for _dir in $ROS_EPHEMERAL; do
        [ -d "$NEWROOT/$_dir" ] || continue
        mount -t overlay -o "lowerdir=$NEWROOT/$_dir,upperdir=$ROS_RUN/overlay/$_dir/upper,workdir=$ROS_RUN/overlay/$_dir/work" \
            "ros-$_dir" "$NEWROOT/$_dir" || return 1
    done
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$NEWROOT/tmp"
}

# A persistent path is seeded from the image only when COS_PERSISTENT has no
# copy yet (never again: people's edits must survive reboots and upgrades),
# through a temporary name so a power cut never leaves half a seed behind.
ros_bind_persistent() {
    _path=$1
    _store="$ROS_RUN/persistent$_path"
    if [ ! -d "$_store" ]; then
        [ -e "$_store.seed" ] && rm -rf "$_store.seed"
        [ -d "${_store%/*}" ] || mkdir -p "${_store%/*}"
        if [ -d "$NEWROOT$_path" ]; then
            cp -a "$NEWROOT$_path" "$_store.seed" || return 1
        else
            mkdir "$_store.seed"
        fi
        mv "$_store.seed" "$_store"
    fi
    if [ ! -d "$NEWROOT$_path" ] && ! mkdir -p "$NEWROOT$_path" 2>/dev/null; then
        ros_log "persistent path $_path skipped: it is not in the image and its parent is read-only"
        return 0
    fi
    mount --bind "$_store" "$NEWROOT$_path"
}

ros_mount_persistent() {
    _dev=/dev/disk/by-label/COS_PERSISTENT
    if [ ! -b "$_dev" ]; then
        ros_log "no COS_PERSISTENT partition: nothing persists across reboots"
        return 0
    fi
    ros_mount_once "$ROS_RUN/persistent" -o rw,noatime "$_dev" || {
        ros_log "cannot mount COS_PERSISTENT: nothing persists across reboots"
        return 0
    }
    [ -f "$NEWROOT/usr/lib/ros/persistent-paths" ] || return 0
    while read -r _path || [ -n "$_path" ]; do
        case "$_path" in
            /*) ros_bind_persistent "$_path" || ros_log "persistent path $_path not mounted" ;;
        esac
    done < "$NEWROOT/usr/lib/ros/persistent-paths"
}

ros_mount_oem() {
    _dev=/dev/disk/by-label/COS_OEM
    [ -b "$_dev" ] || return 0
    mkdir -p "$NEWROOT/oem" 2>/dev/null
    mount -o rw,nosuid,nodev,noexec,noatime "$_dev" "$NEWROOT/oem" || ros_log "cannot mount COS_OEM on /oem"
}

ros_setup_root() {
    _root=$(getarg root=)
    case "$_root" in ros:*) ;; *) return 0 ;; esac
    _image=$(getarg ros.image=)
    _image=${_image:-active}
    ros_mount_overlays || warn "ros: cannot set up the ephemeral overlays"
    ros_mount_oem
    ros_mount_persistent
    _fallback=no
    getargbool 0 ros.fallback && _fallback=yes
    mkdir -p /run/ros
    printf 'IMAGE=%s\nDEVICE=%s\nFALLBACK=%s\n' "$_image" "${_root#ros:}" "$_fallback" > /run/ros/boot
    ros_log "booted the $_image image from ${_root#ros:} (fallback: $_fallback)"
}

ros_setup_root
