import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGuest, type Guest } from '../../src/boot/guest.js';
import { runCli, specFlags, testImage } from '../helpers/cli.js';
import { buildAndPushContext } from '../helpers/docker-push.js';
import { errorLines, lastDiskBoot } from '../helpers/serial.js';
import { writeTestSpec } from '../helpers/spec.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

// Under TCG a boot takes 45–120 s on two cores, an upgrade a few minutes; allow for a loaded CI machine.
const bootTimeoutSeconds = 420;
const testTimeoutMs = 1_200_000;
const REGISTRY_PORT = 5130; // fixed: the repository name is part of the image, a stable one keeps the build cache warm
const passphrase = { COSIGN_PASSWORD: 'e2e-passphrase' };
// The machine runs with Secure Boot enforced (OVMF, Microsoft's keys): every slot, the fallbacks and the
// upgrades go through shim and the Debian-signed GRUB and kernels. SeaBIOS boots are the disk e2e's.
const firmware = 'uefi-secure';

/*
 * Upgrades on a real machine: a disk installed with the test image (tag
 * "it"), a real docker-registry on the host reached from the guest at qemu's
 * gateway, and two newer images built from the spec with ros-build, each with
 * another tag: "v2" (one more layer, a marker file) and "broken" (the kernel,
 * initramfs and boot chain alone: no os-release, and systemd refuses to switch
 * to a root that is not an OS tree, so its boot fails in the initramfs, which
 * restarts the machine). v2 also
 * brings a boot chain of its own: the machine's shim and GRUB with one more
 * signature (a throwaway key's), so the upgrade replaces the ESP's chain and
 * every later boot goes through the new one under Secure Boot; "broken"
 * keeps the plain chain, which lacks that signer, so the ESP refuses it.
 * Pushed and signed with ros-build; everything is checked from inside over
 * SSH as rancher.
 */
const work = mkdtempSync(join(tmpdir(), 'ros-upgrade-'));
const key = join(work, 'id_ed25519');
const machine = join(work, 'machine.raw');
let guest: Guest;
let registry: TestRegistry;
const digests: Record<string, string> = {};
const guestImage = (tag: string) => `10.0.2.2:${REGISTRY_PORT}/${testImage.repo}:${tag}`;
const STATE = '/run/initramfs/ros/state';

const sh = async (command: string, options: { timeoutSeconds?: number } = {}) => {
  const result = await guest.run(`sudo -n sh -c '${command.replace(/'/g, `'\\''`)}'`, options);
  return { ...result, stdout: result.stdout.trim() };
};
const upgrade = (args: string) => sh(`ros upgrade --allow-http --no-reboot ${args}`, { timeoutSeconds: 1800 });
const status = async () => (await sh('ros status')).stdout;

async function buildAndPush(tag: string, spec: string): Promise<string> {
  const flags = ['-f', spec, '--repo', `${registry.host}/${testImage.repo}`, '--tag', tag, '--output-dir', join(work, 'publish')];
  const build = await runCli(['build', ...flags]);
  expect(build.exitCode, build.stderr).toBe(0);
  const push = await runCli(['push', '--image-only', ...flags]);
  expect(push.exitCode, push.stderr).toBe(0);
  return push.stdout.trim().split('@')[1]!;
}

const chainDigests: { shim?: string } = {};
const THROWAWAY_SIGNER = 'ros-build upgrade e2e';

/** The disk's shim and GRUB, read off its ESP, each with a throwaway key's signature added (sbsign appends). */
async function resignDiskChain(disk: string): Promise<{ files: Record<string, string>; shimDigest: string }> {
  const table = (await execa('sgdisk', ['-p', disk])).stdout.split('\n').find((line) => line.trim().endsWith(' COS_GRUB'))!;
  const esp = `${disk}@@${Number(table.trim().split(/\s+/)[1]) * 512}`;
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${THROWAWAY_SIGNER}`, '-keyout', join(work, 'throwaway.key'), '-out', join(work, 'throwaway.pem')]);
  const files: Record<string, string> = {};
  for (const [name, target] of [['BOOTX64.EFI', 'usr/lib/shim/shimx64.efi.signed'], ['grubx64.efi', 'usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed']] as const) {
    await execa('mcopy', ['-n', '-i', esp, `::/EFI/BOOT/${name}`, join(work, name)], { env: { MTOOLS_SKIP_CHECK: '1' } });
    await execa('sbsign', ['--key', join(work, 'throwaway.key'), '--cert', join(work, 'throwaway.pem'), '--output', join(work, `${name}.resigned`), join(work, name)]);
    files[target] = join(work, `${name}.resigned`);
  }
  return { files, shimDigest: createHash('sha256').update(readFileSync(files['usr/lib/shim/shimx64.efi.signed']!)).digest('hex') };
}

/**
 * "broken": the test image's kernel, initramfs and signed chain and nothing of
 * the OS (no os-release: the initramfs cannot switch to it), pushed with
 * docker. A few files instead of the whole OS: its pull and write take seconds.
 */
async function pushBrokenImage(): Promise<string> {
  const context = join(work, 'broken-image');
  mkdirSync(context);
  writeFileSync(join(context, 'ros-release'), `IMAGE=${registry.host}/${testImage.repo}:broken\n`);
  writeFileSync(
    join(context, 'Dockerfile'),
    [`FROM ${testImage.repo}:${testImage.tag} AS os`, 'FROM scratch', ...['/boot/', '/usr/lib/shim/', '/usr/lib/grub/x86_64-efi-signed/'].map((dir) => `COPY --from=os ${dir} ${dir}`), 'COPY ros-release /usr/lib/ros-release', ''].join('\n'),
  );
  return buildAndPushContext(context, `${registry.host}/${testImage.repo}:broken`);
}

async function sign(tag: string, keyPrefix: string): Promise<void> {
  const result = await runCli(['sign', `${registry.host}/${testImage.repo}@${digests[tag]}`, '--key', join(work, `${keyPrefix}.key`), '--signer', 'builtin', '--no-checksums', '--output-dir', join(work, 'publish')], { env: passphrase });
  expect(result.exitCode, result.stderr).toBe(0);
}

beforeAll(async () => {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ros-build upgrade e2e', '-f', key]);
  const cloudConfig = join(work, 'cloud-config.yaml');
  writeFileSync(cloudConfig, `#cloud-config\nssh_authorized_keys:\n  - ${readFileSync(`${key}.pub`, 'utf8').trim()}\n`);
  const built = await runCli(['disk', '--cloud-config', cloudConfig, '--format', 'raw', '--output', join(work, 'disk'), ...specFlags()]);
  expect(built.exitCode, built.stderr).toBe(0);
  copyFileSync(built.stdout.trim(), machine);

  registry = await startRegistry({ port: REGISTRY_PORT });
  for (const prefix of ['good', 'other']) {
    const keygen = await runCli(['keygen', '--output-prefix', join(work, prefix)], { env: passphrase });
    expect(keygen.exitCode, keygen.stderr).toBe(0);
  }
  // v2's chain: the disk's own shim and GRUB (the image's Debian-signed ones) with one more signature added.
  const chain = await resignDiskChain(machine);
  // v2 also changes a file the image ships under /var/lib (dpkg's database of stat overrides), which the node never touches.
  const marker = 'echo "upgrade e2e marker" > /usr/lib/ros-e2e-marker && dpkg-statoverride --add root root 0644 /usr/lib/ros-e2e-marker';
  digests.v2 = await buildAndPush('v2', writeTestSpec(work, 'v2', { layers: { e2e: marker, chain: 'sha256sum /usr/lib/shim/shimx64.efi.signed' }, files: { chain: chain.files } }));
  chainDigests.shim = chain.shimDigest;
  await sign('v2', 'good');
  // Not signed yet: first the refusal of an unsigned image, then signed for the failed-boot test.
  digests.broken = await pushBrokenImage();

  guest = await startGuest({ artifact: machine, firmware, timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'machine.serial.log'), ssh: { keyFile: key, user: 'rancher' } });
  await guest.waitForLogin();
  for (const prefix of ['good', 'other']) expect((await guest.run(`cat > /home/rancher/${prefix}.pub`, { input: readFileSync(join(work, `${prefix}.pub`), 'utf8') })).exitCode).toBe(0);
}, 3_600_000);

afterAll(async () => {
  await guest?.stop();
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('ros upgrade refuses, before writing anything', () => {
  it('an image signed with another key, an unsigned one, and an unreachable registry, saying why', async () => {
    const dryRun = await upgrade(`--dry-run --image ${guestImage('v2')} --key /home/rancher/good.pub`);
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain(`${guestImage('v2')} (${digests.v2}): signature verified with /home/rancher/good.pub;`);
    const otherKey = await upgrade(`--image ${guestImage('v2')} --key /home/rancher/other.pub`);
    expect(otherKey.exitCode).toBe(1);
    expect(otherKey.stderr).toMatch(/no valid signature for .*: a signature does not match the public key/);
    const unsigned = await upgrade(`--image ${guestImage('broken')} --key /home/rancher/good.pub`);
    expect(unsigned.exitCode).toBe(1);
    expect(unsigned.stderr).toMatch(/is not signed: the registry has no sha256-[0-9a-f]{64}\.sig/);
    const closed = await upgrade(`--image 10.0.2.2:5999/${testImage.repo}:v2`);
    expect(closed.exitCode).toBe(1);
    expect(closed.stderr).toMatch(/cannot reach registry 10\.0\.2\.2:5999 \(\d+ attempts with backoff\)/);
  }, testTimeoutMs);

  it('an image that does not fit on COS_STATE, naming the sizes', async () => {
    expect((await sh(`mount -o remount,rw ${STATE} && fallocate -l $(( $(df -B1 --output=avail ${STATE} | tail -1) - 8 * 1048576 )) ${STATE}/filler`)).exitCode).toBe(0);
    const full = await upgrade(`--image ${guestImage('v2')} --key /home/rancher/good.pub`);
    expect((await sh(`mount -o remount,rw ${STATE} && rm ${STATE}/filler && mount -o remount,ro ${STATE}`)).exitCode).toBe(0);
    expect(full.exitCode).toBe(1);
    expect(full.stderr).toMatch(/not enough room on COS_STATE: [\d.]+ [KMG]iB free, the new image needs about [\d.]+ MiB .*nothing was written/);
    expect((await sh(`ls ${STATE}/cOS`)).stdout.split('\n')).toEqual(['active', 'passive']);
    expect(await status()).toMatch(/^active: +ros-build-test\/os:it \(version it\)$/m);
  }, testTimeoutMs);
});

describe('ros upgrade writes the new image beside the running one', () => {
  it('leaves the old system booting when the machine dies while it writes, and the next upgrade cleans up', async () => {
    const started = await sh(`systemd-run --unit ros-e2e-upgrade ros upgrade --allow-http --no-reboot --image ${guestImage('v2')} --key /home/rancher/good.pub`);
    expect(started.exitCode, started.stderr).toBe(0);
    // Pulled the first layers and writing the squashfs: pull the plug.
    for (let i = 0; i < 600; i++) {
      const size = Number((await sh(`stat -c %s ${STATE}/cOS/transition/rootfs.squashfs 2>/dev/null || echo 0`)).stdout);
      if (size > 4 * 2 ** 20) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    // A second upgrade or a rollback meanwhile would remove the image being written: both are refused.
    const holder = (await sh('systemctl show -P MainPID ros-e2e-upgrade')).stdout;
    for (const command of [`ros upgrade --allow-http --no-reboot --image ${guestImage('v2')} --key /home/rancher/good.pub`, 'ros rollback']) {
      const refused = await sh(command);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(new RegExp(`another ros upgrade \\(pid ${holder}, since \\S+\\) is changing the boot slots: wait until it ends`));
    }
    expect((await sh('systemctl is-active ros-e2e-upgrade')).stdout).toBe('active');
    // What the cut leaves must be on the disk for the next upgrade to find: ext4 commits every 5 s, and the
    // write can reach 4 MiB sooner than that after creating cOS/transition.
    expect((await sh('sync')).exitCode).toBe(0);
    await guest.stop();
    guest = await startGuest({ artifact: machine, firmware, timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'machine.serial-2.log'), ssh: { keyFile: key, user: 'rancher' } });
    await guest.waitForLogin();
    expect((await sh('cat /run/ros/boot')).stdout).toContain('IMAGE=active');
    expect((await sh(`ls ${STATE}/cOS`)).stdout.split('\n')).toContain('transition');
    expect(await status()).toMatch(/^active: +ros-build-test\/os:it \(version it\)$/m);
  }, testTimeoutMs);

  it('upgrades to the signed image: after a reboot the new version runs and the old one is passive', async () => {
    expect((await sh('mkdir -p /var/lib/ros-e2e && echo mine > /var/lib/ros-e2e/node-file && grep -c ros-e2e-marker /var/lib/dpkg/statoverride || true')).stdout).toBe('0');
    const result = await upgrade(`--image ${guestImage('v2')} --key /home/rancher/good.pub`);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('removed the unfinished cOS/transition');
    expect(result.stdout).toContain(`signature verified with /home/rancher/good.pub`);
    expect(result.stdout).toMatch(/upgraded in \d+ s: .*:v2 \(sha256:[0-9a-f]{64}\) written to active; ros-build-test\/os:it \(version it\) is passive; reboot to start it/);
    expect(result.stdout).toMatch(/ros: updated the ESP's boot chain: shim \S+, grub \S+ -> shim \S+, grub \S+/);
    process.stdout.write(`ros upgrade under TCG: ${result.stdout.split('\n').filter((l) => /wrote|upgraded/.test(l)).join(' | ')}\n`);
    await guest.reboot();
    expect((await sh('cat /usr/lib/ros-e2e-marker')).stdout).toBe('upgrade e2e marker');
    // /var is the node's, but what the image ships there follows the image until the node changes it.
    expect((await sh('cat /var/lib/dpkg/statoverride')).stdout).toContain('root root 644 /usr/lib/ros-e2e-marker');
    expect((await sh('cat /var/lib/ros-e2e/node-file')).stdout).toBe('mine');
    expect((await sh('. /etc/os-release; echo $VERSION_ID')).stdout).toBe('v2');
    expect((await sh('mokutil --sb-state')).stdout).toBe('SecureBoot enabled');
    // The firmware started v2's shim: the ESP holds it, whole, and nothing of the staging is left.
    const esp = 'MTOOLS_SKIP_CHECK=1 mdir -b -i /dev/disk/by-label/COS_GRUB ::/EFI; MTOOLS_SKIP_CHECK=1 mcopy -n -i /dev/disk/by-label/COS_GRUB ::/EFI/BOOT/BOOTX64.EFI - | sha256sum';
    expect((await sh(esp)).stdout.split('\n')).toEqual(['::/EFI/BOOT/', '::/EFI/debian/', `${chainDigests.shim}  -`]);
    const after = await status();
    expect(after).toMatch(/^booted: active \(try 1 of 3\)$/m);
    expect(after).toMatch(new RegExp(`^active: +127\\.0\\.0\\.1:${REGISTRY_PORT}/ros-build-test/os:v2 \\(version v2\\)$`, 'm'));
    expect(after).toMatch(/^passive: +ros-build-test\/os:it \(version it\)$/m);
    expect(after).toContain(`last change: upgrade at `);
    expect(after).toContain(digests.v2);
    // The new image finished its boot: boot assessment cleared GRUB's count.
    expect((await sh('grep -c ^active_tries= /oem/grubenv')).stdout).toBe('0');
  }, testTimeoutMs);

  it('rolls back to the old image', async () => {
    expect((await sh('ros rollback')).exitCode).toBe(0);
    await guest.reboot();
    expect((await sh('test -e /usr/lib/ros-e2e-marker')).exitCode).not.toBe(0);
    expect((await sh('. /etc/os-release; echo $VERSION_ID')).stdout).toBe('it');
    expect(await status()).toMatch(/^passive: +\S+:v2 \(version v2\)$/m);
  }, testTimeoutMs);

  it('comes back on the previous image by itself when the new one never finishes its boot, and says the upgrade failed', async () => {
    await sign('broken', 'good');
    const result = await upgrade(`--image ${guestImage('broken')} --key /home/rancher/good.pub`);
    expect(result.exitCode, result.stderr).toBe(0);
    // Its chain is the plain one: the running shim's extra signer is missing, so the ESP keeps v2's chain.
    expect(result.stdout).toContain(`ros: the ESP keeps its boot chain: the new shim is not signed by "${THROWAWAY_SIGNER}" as the running one is`);
    // Each boot of the broken image fails in the initramfs, which restarts the machine; after the third GRUB starts passive.
    // The count starts at two, as after two failed boots: GRUB counts the third try, the boot fails, and the next start of
    // GRUB reads that count back and passes active over (two boots under TCG instead of four).
    expect((await sh('/usr/libexec/ros/grubenv /oem/grubenv active_tries=2')).exitCode).toBe(0);
    await guest.reboot({ timeoutSeconds: 2 * bootTimeoutSeconds });
    const boot = (await sh('cat /run/ros/boot')).stdout;
    expect(boot).toContain('IMAGE=passive');
    expect(boot).toContain('FALLBACK=yes');
    expect((await sh('. /etc/os-release; echo $VERSION_ID')).stdout).toBe('it');
    const after = await status();
    expect(after).toContain('booted: passive (try 1 of 3) (FALLBACK: the active image did not boot)');
    expect(after).toMatch(new RegExp(`^upgrade FAILED: \\S+:broken \\(${digests.broken}\\) did not complete its boot; running the previous image$`, 'm'));
    expect(after).toContain('boot tries: active 3 of 3 (passed over until an upgrade or a rollback), passive 0 of 3');
    expect((await sh('test -e /run/ros/fallback')).exitCode).toBe(0);
    const serial = readFileSync(guest.logPath, 'utf8');
    expect(serial).toContain('Booting the active image (try 3 of 3)');
    expect(serial).toContain('The active image failed 3 boots in a row: starting passive.');
    expect(serial).toContain('ros: FALLBACK: booted the passive image from LABEL=COS_STATE: the active image did not boot');
    expect((await sh('journalctl -b -o cat | grep -c "running on the passive image as a FALLBACK"')).stdout).not.toBe('0');
    // The passive slot's own boot is clean: no failed unit, no FAILED or error line after GRUB's last line.
    expect((await sh('systemctl --failed --no-legend --plain')).stdout).toBe('');
    expect(errorLines(lastDiskBoot(serial))).toEqual([]);
    // Still on the machine's own data: the upgrade and the failed boots left /var alone.
    expect((await sh('cat /var/lib/ros-e2e/node-file')).stdout).toBe('mine');
  }, 2 * testTimeoutMs);
});

describe('recovery, for real', () => {
  it('ros upgrade --recovery writes a new recovery image', async () => {
    const result = await upgrade(`--recovery --image ${guestImage('v2')} --key /home/rancher/good.pub`);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/upgraded in \d+ s: \S+:v2 \(sha256:[0-9a-f]{64}\) written to recovery; reboot to start it/);
    expect(await status()).toMatch(new RegExp(`^recovery: +127\\.0\\.0\\.1:${REGISTRY_PORT}/ros-build-test/os:v2 \\(version v2\\)$`, 'm'));
  }, testTimeoutMs);

  it('with active and passive both unbootable, the machine reaches the new recovery image by itself and says why', async () => {
    // Active is the broken upgrade (its tries used up); now passive, the running image, loses its squashfs too. As for
    // active above, passive starts at two (as after two failed boots), so one more failure escalates.
    expect((await sh(`mount -o remount,rw ${STATE} && mv ${STATE}/cOS/passive/rootfs.squashfs ${STATE}/cOS/passive/rootfs.squashfs.broken && sync`)).exitCode).toBe(0);
    expect((await sh('/usr/libexec/ros/grubenv /oem/grubenv passive_tries=2')).exitCode).toBe(0);
    const started = Date.now();
    await guest.reboot({ timeoutSeconds: 2 * bootTimeoutSeconds });
    process.stdout.write(`escalation to recovery (one failed boot of passive at its third try, active already passed over): ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    const boot = (await sh('cat /run/ros/boot')).stdout;
    expect(boot).toContain('IMAGE=recovery');
    expect(boot).toContain("FAILED='active,passive'");
    expect((await sh('mokutil --sb-state')).stdout).toBe('SecureBoot enabled');
    expect((await sh('. /etc/os-release; echo $VERSION_ID')).stdout).toBe('v2');
    expect((await sh('cat /usr/lib/ros-e2e-marker')).stdout).toBe('upgrade e2e marker');
    const text = await status();
    expect(text).toMatch(/^booted: recovery \(FALLBACK: the active and passive images did not boot\)$/m);
    expect(text).toMatch(/^boot tries: active 3 of 3 \(passed over[^,]*, passive 3 of 3 \(passed over/m);
    // Read from COS_STATE, though the boot mounted COS_RECOVERY.
    expect(text).toMatch(/^active: +\S+:broken \(version unknown\)$/m);
    expect(text).toMatch(/^passive: +unreadable \(no rootfs\.squashfs in /m);
    const serial = readFileSync(guest.logPath, 'utf8');
    expect(serial).toContain('Booting the passive image (try 3 of 3)');
    expect(serial).toContain('The passive image failed 3 boots in a row: starting recovery.');
    expect(serial).toContain('ros: FALLBACK: booted the recovery image from LABEL=COS_RECOVERY: the active and passive images did not boot');
  }, 3 * testTimeoutMs);

  it('from recovery, ros upgrade rewrites active and passive, and the next boot is on active again with the node\'s data', async () => {
    // Recovery leaves COS_PERSISTENT alone: the key given earlier under /home is not here; the person brings it again.
    expect((await guest.run('cat > /home/rancher/good.pub', { input: readFileSync(join(work, 'good.pub'), 'utf8') })).exitCode).toBe(0);
    // What an earlier release left on COS_PERSISTENT (a bind-mounted copy per listed path, /var/lib/rancher among them), written
    // here by hand as recovery leaves the partition alone: after this change it is the node's data.
    expect((await sh('mkdir -p /run/ros-e2e-p && mount /dev/disk/by-label/COS_PERSISTENT /run/ros-e2e-p && mkdir -p /run/ros-e2e-p/var/lib/rancher && echo legacy > /run/ros-e2e-p/var/lib/rancher/ros-e2e-legacy && umount /run/ros-e2e-p')).exitCode).toBe(0);
    const result = await upgrade(`--image ${guestImage('v2')} --key /home/rancher/good.pub`);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('written to active and passive (upgraded from recovery)');
    expect(result.stdout).toContain('ros: the ESP already holds the new image\'s boot chain');
    await guest.reboot();
    expect((await sh('cat /run/ros/boot')).stdout).toContain('IMAGE=active');
    expect((await sh('. /etc/os-release; echo $VERSION_ID')).stdout).toBe('v2');
    const text = await status();
    expect(text).toMatch(/^booted: active \(try 1 of 3\)$/m);
    expect(text).toMatch(/^passive: +\S+:v2 \(version v2\)$/m);
    expect((await sh('cat /var/lib/ros-e2e/node-file /var/lib/rancher/ros-e2e-legacy')).stdout).toBe('mine\nlegacy');
  }, testTimeoutMs);
});
