import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAndPushContext } from './docker-push.js';

/*
 * A stand-in for rancher/system-agent-installer-rke2 (RKE2 itself cannot be
 * downloaded here): FROM scratch with the vendor's layout, installer.sh, run.sh,
 * rke2.linux-amd64.tar.gz and sha256sum-amd64.txt. The installer keeps the
 * offline contract of RKE2's install.sh (INSTALL_RKE2_ARTIFACT_PATH, the
 * checksum check, INSTALL_RKE2_TAR_PREFIX, units moved to /etc/systemd/system
 * with the prefix in ExecStart). Its `rke2` records its version, role,
 * arguments and the config.yaml it was started with under
 * /var/lib/rancher/rke2/standin/, keeps state under /var/lib/rancher/rke2 and
 * /var/lib/kubelet, and stays up as a service.
 */
const INSTALLER_SH = `#!/bin/sh
# Stand-in for RKE2's install.sh, tar method, offline.
set -e
artifacts=\${INSTALL_RKE2_ARTIFACT_PATH:?stand-in installs offline only}
prefix=\${INSTALL_RKE2_TAR_PREFIX:-/usr/local}
cd "$artifacts"
grep ' rke2.linux-amd64.tar.gz$' sha256sum-amd64.txt | sha256sum -c - >/dev/null || { echo "[ERROR] download sha256 does not match" >&2; exit 1; }
mkdir -p "$prefix"
tar xzf rke2.linux-amd64.tar.gz -C "$prefix"
mkdir -p /etc/systemd/system
for unit in rke2-server rke2-agent; do
  sed "s|/usr/local|$prefix|g" "$prefix/lib/systemd/system/$unit.service" > /etc/systemd/system/$unit.service
  cp "$prefix/share/rke2/$unit.env" /etc/systemd/system/$unit.env
done
rm -rf "$prefix/lib/systemd"
systemctl daemon-reload
echo "[INFO] stand-in rke2 installed into $prefix"
`;

const RKE2_BIN = (version: string) => `#!/bin/sh
# Stand-in for the rke2 binary: records how it was started and stays up.
[ "$1" = --version ] && { echo "rke2 version ${version}"; exit 0; }
role=$1; shift
out=/var/lib/rancher/rke2/standin
mkdir -p "$out" /var/lib/kubelet/standin
{ echo "version=${version}"; echo "role=$role"; echo "args=$*"; echo "pid=$$"; echo "boot=$(cat /proc/sys/kernel/random/boot_id)"; } > "$out/$role.started"
cp /etc/rancher/rke2/config.yaml "$out/$role.config.yaml" 2>/dev/null || echo none > "$out/$role.config.yaml"
date +%s >> "$out/starts"
echo "${version}" > /var/lib/kubelet/standin/last-version
exec sleep infinity
`;

const UNIT = (role: string) => `[Unit]
Description=Rancher Kubernetes Engine v2 (${role}) - stand-in
Wants=network-online.target
After=network-online.target

[Service]
# The vendor's unit is Type=notify; a shell stand-in cannot notify reliably from its main process, so exec.
Type=exec
EnvironmentFile=-/etc/systemd/system/rke2-${role}.env
ExecStart=/usr/local/bin/rke2 ${role}
KillMode=process
Restart=always
RestartSec=5s

[Install]
WantedBy=multi-user.target
`;

export interface StandInInstaller {
  /** REF@DIGEST in the registry. */
  reference: string;
  digest: string;
}

/**
 * Build the stand-in for `version`, push it to `repository:tag` (a registry on
 * this host) and return its digest. `corrupt` ships a tarball that does not
 * match its checksum file.
 */
export async function pushStandInInstaller(work: string, repository: string, tag: string, version: string, options: { corrupt?: boolean } = {}): Promise<StandInInstaller> {
  const dir = join(work, `rke2-installer-${tag}`);
  rmSync(dir, { recursive: true, force: true });
  const tree = join(dir, 'tree');
  const context = join(dir, 'context');
  for (const sub of ['bin', 'lib/systemd/system', 'share/rke2']) mkdirSync(join(tree, sub), { recursive: true });
  mkdirSync(context, { recursive: true });
  writeFileSync(join(tree, 'bin/rke2'), RKE2_BIN(version));
  chmodSync(join(tree, 'bin/rke2'), 0o755);
  for (const role of ['server', 'agent']) {
    writeFileSync(join(tree, `lib/systemd/system/rke2-${role}.service`), UNIT(role));
    writeFileSync(join(tree, `share/rke2/rke2-${role}.env`), 'HOME=/root\n');
  }
  const tarball = join(context, 'rke2.linux-amd64.tar.gz');
  await execa('tar', ['czf', tarball, '--owner=0', '--group=0', '-C', tree, '.']);
  const sha = createHash('sha256').update(readFileSync(tarball)).digest('hex');
  writeFileSync(join(context, 'sha256sum-amd64.txt'), `${options.corrupt ? sha.replace(/^./, (c) => (c === '0' ? '1' : '0')) : sha}  rke2.linux-amd64.tar.gz\n`);
  writeFileSync(join(context, 'installer.sh'), INSTALLER_SH);
  writeFileSync(join(context, 'run.sh'), '#!/bin/sh\n# What Rancher\'s system-agent runs; ros runs installer.sh itself.\nINSTALL_RKE2_ARTIFACT_PATH=$(dirname "$0") sh "$(dirname "$0")/installer.sh"\n');
  writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY installer.sh run.sh rke2.linux-amd64.tar.gz sha256sum-amd64.txt /\n');
  const digest = await buildAndPushContext(context, `${repository}:${tag}`);
  return { reference: `${repository}@${digest}`, digest };
}
