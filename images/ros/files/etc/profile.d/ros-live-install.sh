# The ISO's install entry (ros.install.automatic=true on the kernel command
# line, no ros.install.device): at the automatic login of each live console
# (the screen's tty1, a serial console), offer the interactive installer. The
# first console where someone presses Enter runs it; the others say so.
# Sourced by login shells: no exit.
ros_offer_install() {
    [ "$(id -un)" = rancher ] || return 0
    case "$(tty)" in /dev/tty1 | /dev/ttyS* | /dev/hvc* | /dev/ttyAMA*) ;; *) return 0 ;; esac
    _ros_cmdline=" $(cat /proc/cmdline) "
    case "$_ros_cmdline" in *" root=live:"*) ;; *) return 0 ;; esac
    case "$_ros_cmdline" in *" ros.install.automatic=true "*) ;; *) return 0 ;; esac
    case "$_ros_cmdline" in *" ros.install.device="* | *" ros.install.silent"*) return 0 ;; esac
    printf '\nPress Enter to install RancherOS to a disk (Ctrl-C for a shell; `sudo ros install` starts it later): '
    read -r _ros_answer || return 0
    # One installer at a time, whichever console asked first.
    flock -n -E 75 /run/lock/ros-install.lock sudo ros install
    [ $? -ne 75 ] || echo "The installer is already running on another console: answer it there."
}
ros_offer_install
unset -f ros_offer_install
