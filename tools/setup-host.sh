#!/usr/bin/env bash
# Make this machine able to build and boot ros-build artifacts. Idempotent:
# it installs only what is missing, starts dockerd only when no engine answers
# (DOCKER_HOST is respected), and runs `npm ci` only when the lockfile changed.
set -euo pipefail

cd "$(dirname "$0")/.."

# command -> Debian package that provides it
declare -A NEEDS=(
  [dockerd]=docker.io
  [docker]=docker.io
  [qemu-system-x86_64]=qemu-system-x86
  [mmdebstrap]=mmdebstrap
  [tar2sqfs]=squashfs-tools-ng
  [unsquashfs]=squashfs-tools
  [xorriso]=xorriso
  [grub-mkimage]=grub-common
  [mkfs.vfat]=dosfstools
  [mcopy]=mtools
  [skopeo]=skopeo
  [docker-registry]=docker-registry
  [openssl]=openssl
  [htpasswd]=apache2-utils
  [pgrep]=procps
  [ip]=iproute2
  [jq]=jq
  [qemu-img]=qemu-utils
  [sgdisk]=gdisk
  [mkfs.ext4]=e2fsprogs
  [debugfs]=e2fsprogs
  [grub-editenv]=grub-common
  [ssh]=openssh-client
  [ssh-keygen]=openssh-client
  [getfattr]=attr
  # the unit tests set binary xattrs through Python's os.setxattr
  [python3]=python3
  # Secure Boot with your own keys: signing shim, GRUB and the kernel (ros-build --secure-boot-key)
  [sbsign]=sbsigntool
  [sbverify]=sbsigntool
  # the tests: the cloud stand-ins' discs (Azure's provisioning disc is UDF) and the OVA descriptor's check
  # the unit test reads the netboot medium archive with the reference cpio
  [cpio]=cpio
  [genisoimage]=genisoimage
  [xmllint]=libxml2-utils
)
# files -> package (GRUB platform modules, UEFI firmware)
declare -A FILES=(
  [/usr/lib/grub/i386-pc/cdboot.img]=grub-pc-bin
  [/usr/lib/grub/x86_64-efi/linux.mod]=grub-efi-amd64-bin
  [/usr/share/OVMF/OVMF_CODE_4M.fd]=ovmf
  [/usr/share/OVMF/OVMF_CODE_4M.secboot.fd]=ovmf
  # qemu's iPXE option ROM: the network boot test boots a NIC
  [/usr/lib/ipxe/qemu/efi-virtio.rom]=ipxe-qemu
)

say() { printf 'setup: %s\n' "$*"; }

# root runs apt/dockerd itself; a CI runner user (GitHub's) has passwordless sudo
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif sudo -n true 2>/dev/null; then sudo "$@"
  else return 1
  fi
}

missing_packages() {
  local cmd file
  for cmd in "${!NEEDS[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || echo "${NEEDS[$cmd]}"
  done
  for file in "${!FILES[@]}"; do
    [ -e "$file" ] || echo "${FILES[$file]}"
  done
  # the daemon's own helpers, which its package pulls in but a hand install may lack
  command -v iptables >/dev/null 2>&1 || echo iptables
}

install_packages() {
  local packages
  packages=$(missing_packages | sort -u | tr '\n' ' ')
  [ -n "${packages// /}" ] || { say "host tools present"; return 0; }
  if command -v apt-get >/dev/null 2>&1 && as_root true; then
    say "installing: $packages"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages ca-certificates >/dev/null
    # the registry package starts a system-wide registry on :5000; tests run their own on loopback
    as_root systemctl disable --now docker-registry >/dev/null 2>&1 || true
    if [ -x /etc/init.d/docker-registry ]; then as_root /etc/init.d/docker-registry stop >/dev/null 2>&1 || true; fi
  else
    say "missing host packages: $packages"
    # ros-build runs a command whose tools are missing in the builder image (src/builder/delegate.ts).
    if docker image inspect "${ROS_BUILD_BUILDER_IMAGE:-ros-build:dev}" >/dev/null 2>&1; then
      say "the builder image ${ROS_BUILD_BUILDER_IMAGE:-ros-build:dev} is here: ros-build runs what needs them in it"
      return 0
    fi
    say "install them with your package manager (Debian/Ubuntu: sudo apt-get install $packages), then rerun; or use the builder image (README: Only Docker on your machine)"
    exit 1
  fi
}

engine_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_engine() {
  if engine_answers; then say "docker engine answers (${DOCKER_HOST:-unix:///var/run/docker.sock})"; return 0; fi
  if [ -n "${DOCKER_HOST:-}" ]; then
    say "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"; exit 1
  fi
  if ! as_root true; then
    say "no docker engine answers and starting dockerd needs root: run 'sudo dockerd &' or 'sudo systemctl start docker'"; exit 1
  fi
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    as_root systemctl start docker || true
  fi
  if ! engine_answers; then
    say "starting dockerd (log: /var/log/ros-build-dockerd.log)"
    as_root sh -c 'nohup dockerd >/var/log/ros-build-dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do engine_answers && { say "docker engine started"; return 0; }; sleep 1; done
  say "dockerd did not answer within 60 s; see /var/log/ros-build-dockerd.log"; tail -n 20 /var/log/ros-build-dockerd.log >&2 || true
  exit 1
}

install_node_modules() {
  local stamp=node_modules/.ros-build-lock
  if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then say "node modules up to date"; return 0; fi
  command -v npm >/dev/null 2>&1 || { say "npm not found: install Node.js 20 or newer"; exit 1; }
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
}

install_packages
start_engine
install_node_modules
