#!/bin/sh
# pre-pivot hook: the image is on $NEWROOT (ros-generator's sysroot.mount);
# make the ephemeral and persistent paths and /oem before switching root.
# Sourced by dracut: no exit, only return.
#
# Persistent paths (the image's /usr/lib/ros/persistent-paths) are overlays
# with the image's directory as the lower layer and COS_PERSISTENT/<path> as
# the upper one: what the node writes stays, the image's own files follow the
# image across upgrades until the node changes them (then the node's copy
# wins). Today's upper directories are where earlier releases kept their
# bind-mounted copies, so those copies are the node's data as they were.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

ROS_RUN=/run/initramfs/ros
# The image's own tree, unchanged by the overlays: their lower layers.
ROS_IMAGE=$ROS_RUN/image
# Writable but ephemeral unless listed as persistent: an overlay over the image's directory, on a tmpfs.
ROS_EPHEMERAL="etc var srv"
# Overlay work directories, beside the upper ones on COS_PERSISTENT.
ROS_WORK=.ros-work
# Fixed features: the image (the lower layer) changes between boots, which
# overlayfs allows only without redirects, an index or metacopy.
ROS_OVERLAY_OPTIONS=redirect_dir=off,index=off,metacopy=off

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

# The listed paths, without those below another listed path (already persistent through it).
ros_read_persistent_paths() {
    _all=
    [ -f "$ROS_IMAGE/usr/lib/ros/persistent-paths" ] || return 0
    while read -r _path || [ -n "$_path" ]; do
        case "$_path" in /*) _all="$_all ${_path%/}" ;; esac
    done < "$ROS_IMAGE/usr/lib/ros/persistent-paths"
    ROS_PERSISTENT=
    for _path in $_all; do
        _covered=no
        for _other in $_all; do
            case "$_path" in "$_other"/*) _covered=yes ;; esac
        done
        [ "$_covered" = yes ] || ROS_PERSISTENT="$ROS_PERSISTENT $_path"
    done
}

ros_is_persistent() {
    for _other in $ROS_PERSISTENT; do
        [ "$1" = "$_other" ] && return 0
    done
    return 1
}

ros_mount_ephemeral() {
    ros_mount_once "$ROS_RUN/overlay" -t tmpfs -o mode=0755,size=50% tmpfs || return 1
    # Every program started here costs tens of milliseconds under emulation:
    # one mkdir for all the directories, tests in the shell.
    _ephemeral=
    for _dir in $ROS_EPHEMERAL; do
        [ -d "$ROS_IMAGE/$_dir" ] && ! ros_is_persistent "/$_dir" && _ephemeral="$_ephemeral $_dir"
    done
    _dirs=
    for _dir in $_ephemeral; do
        _dirs="$_dirs $ROS_RUN/overlay/$_dir/upper $ROS_RUN/overlay/$_dir/work"
    done
    [ -z "$_dirs" ] || mkdir -p $_dirs || return 1
    for _dir in $_ephemeral; do
        mount -t overlay -o "lowerdir=$ROS_IMAGE/$_dir,upperdir=$ROS_RUN/overlay/$_dir/upper,workdir=$ROS_RUN/overlay/$_dir/work" \
            "ros-$_dir" "$NEWROOT/$_dir" || return 1
    done
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$NEWROOT/tmp"
}

# Where the persistent paths' upper layers live: COS_PERSISTENT, or a tmpfs
# when it cannot be used (the machine boots all the same, and says why).
ros_mount_persistent_store() {
    _dev=/dev/disk/by-label/COS_PERSISTENT
    ROS_PERSISTENT_PROBLEM=
    if [ "$1" = recovery ]; then
        ROS_PERSISTENT_PROBLEM="the recovery image leaves COS_PERSISTENT unmounted (mount it by hand to reach the data kept there)"
    elif [ ! -b "$_dev" ]; then
        ROS_PERSISTENT_PROBLEM="no COS_PERSISTENT partition"
    elif _err=$(ros_mount_once "$ROS_RUN/persistent" -o rw,noatime "$_dev" 2>&1); then
        return 0
    else
        ROS_PERSISTENT_PROBLEM="cannot mount COS_PERSISTENT ($_dev)"
        # mount's own words go to the journal only (info: not on a quiet console); the console gets the one line below.
        printf '<6>ros: mount %s: %s\n' "$_dev" "$(echo "$_err" | tr '\n' ' ')" > /dev/kmsg
    fi
    ros_log "$ROS_PERSISTENT_PROBLEM: the persistent paths are on a tmpfs, nothing written there survives a reboot"
    ros_mount_once "$ROS_RUN/persistent" -t tmpfs -o mode=0755,size=25% tmpfs
}

ros_mount_persistent() {
    ros_mount_persistent_store "$1" || return 1
    _dirs=
    for _path in $ROS_PERSISTENT; do
        _dirs="$_dirs $ROS_RUN/persistent$_path $ROS_RUN/persistent/$ROS_WORK$_path"
        [ -d "$NEWROOT$_path" ] || _dirs="$_dirs $NEWROOT$_path"
    done
    # A mount point that is missing under a read-only directory of the image fails here; that path is skipped below.
    [ -z "$_dirs" ] || mkdir -p $_dirs 2>/dev/null
    for _path in $ROS_PERSISTENT; do
        if [ -L "$ROS_IMAGE$_path" ] || [ ! -d "$NEWROOT$_path" ]; then
            ros_log "persistent path $_path skipped: the image has no directory there and its parent is read-only"
        elif [ -d "$ROS_IMAGE$_path" ]; then
            mount -t overlay -o "lowerdir=$ROS_IMAGE$_path,upperdir=$ROS_RUN/persistent$_path,workdir=$ROS_RUN/persistent/$ROS_WORK$_path,$ROS_OVERLAY_OPTIONS" \
                ros-persistent "$NEWROOT$_path" || ros_log "persistent path $_path not mounted"
        else
            # Not in the image (made in an ephemeral directory above): nothing to lie under it.
            mount --bind "$ROS_RUN/persistent$_path" "$NEWROOT$_path" || ros_log "persistent path $_path not mounted"
        fi
    done
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
    # GRUB passes the try of this image (boot assessment) and, on a fallback, which images failed (ros.fallback=active,passive).
    _try=$(getarg ros.try=)
    _failed=
    if getargbool 0 ros.fallback; then
        _failed=$(getarg ros.fallback=)
        case "$_failed" in "" | 1 | yes | true) _failed=active ;; esac
    fi
    # Private: the overlays mounted on $NEWROOT below must not propagate to this view of the image (systemd makes mounts shared).
    ros_mount_once "$ROS_IMAGE" --bind --make-private "$NEWROOT" || warn "ros: cannot bind the image on $ROS_IMAGE"
    ros_read_persistent_paths
    ros_mount_ephemeral || warn "ros: cannot set up the ephemeral overlays"
    ros_mount_oem
    ros_mount_persistent "$_image" || warn "ros: cannot set up the persistent paths"
    _fallback=no
    [ -z "$_failed" ] || _fallback=yes
    mkdir -p /run/ros
    # Sourced by shell scripts: values in '…' (so no message here may hold a ').
    printf "IMAGE=%s\nDEVICE=%s\nTRY='%s'\nFALLBACK=%s\nFAILED='%s'\nPERSISTENT_PROBLEM='%s'\n" \
        "$_image" "${_root#ros:}" "$_try" "$_fallback" "$_failed" "$ROS_PERSISTENT_PROBLEM" > /run/ros/boot
    case "$_failed" in
        "") ros_log "booted the $_image image from ${_root#ros:}${_try:+ (try $_try)}" ;;
        *,*) ros_log "FALLBACK: booted the $_image image from ${_root#ros:}: the ${_failed%%,*} and ${_failed#*,} images did not boot" ;;
        *) ros_log "FALLBACK: booted the $_image image from ${_root#ros:}: the $_failed image did not boot" ;;
    esac
}

ros_setup_root
