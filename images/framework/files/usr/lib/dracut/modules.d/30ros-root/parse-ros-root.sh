#!/bin/sh
# root=ros:LABEL=COS_STATE (or ros:UUID=…, ros:/dev/…): this module mounts the root.
[ -z "$root" ] && root=$(getarg root=)
case "$root" in
    ros:*) ;;
    *) return 0 ;;
esac
ros_dev=$(label_uuid_to_dev "${root#ros:}")
# ros-generator makes the mounts; dracut only needs to know the root is handled, and to wait for the device.
rootok=1
wait_for_dev -n "$ros_dev"
info "ros: root image $(getarg ros.image=) on $ros_dev"
