#!/bin/sh
# ros-build in the builder image. Runs as the owner of the work directory (the
# bind-mounted $PWD), so what it writes there is the caller's, not root's; it
# joins the engine socket's group to reach the engine. The mount checks and
# their messages are ros-build's own (src/builder/).
set -eu
app=/usr/local/lib/ros-build/app
cli=$app/dist/cli.js
# rancher/os2's builder command, for pipelines that call it by that name.
if [ "${1:-}" = ros-image-build ]; then shift; cli=$app/dist/compat/ros-image-build.js; fi
run() { exec /usr/local/lib/ros-build/node "$cli" "$@"; }
uid=$(stat -c %u .)
gid=$(stat -c %g .)
[ "$(id -u)" = 0 ] && [ "$uid" != 0 ] || run "$@"
groups=$gid
socket=${DOCKER_HOST:-unix:///var/run/docker.sock}
socket=${socket#unix://}
[ -S "$socket" ] && groups="$groups,$(stat -c %g "$socket")"
# A home of its own: ssh (the boot checks) and Node want one, and the caller's uid has none here.
export HOME=/tmp/ros-build-home
mkdir -p "$HOME"
chown "$uid:$gid" "$HOME"
exec setpriv --reuid="$uid" --regid="$gid" --groups="$groups" --inh-caps=-all \
  /usr/local/lib/ros-build/node "$cli" "$@"
