import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { formatCheck, runChecks, type CheckResult } from '../boot/checks.js';
import { BootError, startGuest, type BootResult, type Guest } from '../boot/guest.js';
import { formatPhases } from '../boot/phases.js';
import { DISK_FORMAT_ALIASES, DISK_FORMAT_NAMES, DISK_FORMATS } from '../artifacts/formats/index.js';
import { DEFAULT_MEMORY_MIB, DISK_BUSES, FIRMWARES, NETBOOT_MEMORY_MIB, type DiskBus, type Firmware } from '../boot/qemu-args.js';
import { assertUsableKey, DEFAULT_SSH_USER } from '../boot/ssh.js';
import { UserError } from '../errors.js';
import { createReporter, type Reporter } from '../progress/reporter.js';

interface BootFlags {
  firmware: Firmware;
  ovmfVars?: string;
  asDisk?: boolean;
  format?: string;
  diskBus: DiskBus;
  snapshot?: boolean;
  timeout: string;
  memory?: string;
  cpu?: string;
  accel: 'auto' | 'kvm' | 'tcg';
  log?: string;
  sshKey?: string;
  sshUser: string;
  sshTimeout: string;
  check: string[];
}

export function registerBootCommand(program: Command): void {
  program
    .command('boot')
    .description(
      'boot an artifact in qemu; exit 0 only when it reaches multi-user and a login prompt on the serial console ' +
        '(and, with --check, when every check passes over SSH)',
    )
    .argument('<artifact>', `ISO (.iso), disk image (.img, ${DISK_FORMAT_NAMES.map((name) => DISK_FORMATS[name].extension).join(', ')}) or netboot directory (served here when built with --url http://10.0.2.2:PORT)`)
    .addOption(new Option('--firmware <firmware>', 'firmware (uefi-secure: OVMF with Secure Boot enforced, Microsoft\'s keys enrolled)').choices([...FIRMWARES]).default('bios'))
    .option('--ovmf-vars <file>', 'with uefi-secure: an OVMF variable store with your own keys enrolled (copied, never changed)')
    .option('--as-disk', 'boot an ISO as a disk, as it boots written to a USB stick')
    .addOption(new Option('--format <format>', 'disk format, as ros-build disk names it (default: from the file name)').choices([...DISK_FORMAT_NAMES, ...Object.keys(DISK_FORMAT_ALIASES)]))
    .addOption(new Option('--disk-bus <bus>', 'how the disk is attached').choices([...DISK_BUSES]).default('virtio'))
    .option('--snapshot', 'leave the disk file unchanged (guest writes go to a temporary overlay; always on for .vmdk and ISOs)')
    .option('--timeout <seconds>', 'give up on a boot after this long', '300')
    .option('--memory <MiB>', `guest memory (default ${DEFAULT_MEMORY_MIB}, ${NETBOOT_MEMORY_MIB} for a network boot: its root is held in RAM)`)
    .option('--cpu <model>', 'qemu CPU model (default: max under KVM, qemu\'s default under TCG)')
    .addOption(new Option('--accel <accelerator>', 'qemu accelerator (auto probes whether KVM really runs a guest)').choices(['auto', 'kvm', 'tcg']).default('auto'))
    .option('--log <file>', 'serial log (default: <artifact>.<firmware>.serial.log)')
    .option('--ssh-key <file>', 'private key for SSH into the guest (its public key in the medium\'s cloud-config)')
    .option('--ssh-user <user>', 'SSH user', DEFAULT_SSH_USER)
    .option('--ssh-timeout <seconds>', 'how long to wait for sshd after the login prompt', '180')
    .option('--check <command>', 'run in the guest over SSH after the login prompt; must exit 0 (repeatable)', collect, [])
    .action(async (artifact: string, flags: BootFlags) => {
      if (flags.ovmfVars && flags.firmware !== 'uefi-secure') throw new UserError('--ovmf-vars gives the keys of a Secure Boot machine', 'add --firmware uefi-secure, or drop --ovmf-vars');
      const timeoutSeconds = positiveInteger(flags.timeout, '--timeout');
      const memoryMiB = flags.memory === undefined ? undefined : positiveInteger(flags.memory, '--memory');
      const sshTimeoutSeconds = positiveInteger(flags.sshTimeout, '--ssh-timeout');
      if (flags.check.length > 0 && !flags.sshKey) {
        throw new UserError('--check runs commands over SSH and needs a key', 'add --ssh-key FILE (its public key in the cloud-config given to `ros-build iso --cloud-config`)');
      }
      // Before anything is started or printed: a wrong key is the user's to fix, not a failed boot.
      if (flags.sshKey) await assertUsableKey(resolve(flags.sshKey));
      const report = createReporter();
      const step = `boot ${flags.firmware}${flags.asDisk ? ' (as disk)' : ''}`;
      report({ kind: 'step-start', step });
      const guest = await startGuest({
        artifact: resolve(artifact),
        firmware: flags.firmware,
        ovmfVars: flags.ovmfVars ? resolve(flags.ovmfVars) : undefined,
        asDisk: flags.asDisk,
        diskFormat: flags.format,
        diskBus: flags.diskBus,
        snapshot: flags.snapshot,
        timeoutSeconds,
        memoryMiB,
        cpu: flags.cpu,
        accelerator: flags.accel,
        logPath: flags.log ? resolve(flags.log) : undefined,
        // Without checks this stays a smoke boot: a guest that reboots by itself ends the run.
        exitOnReboot: !flags.sshKey,
        ssh: flags.sshKey ? { keyFile: resolve(flags.sshKey), user: flags.sshUser, timeoutSeconds: sshTimeoutSeconds } : undefined,
        onMarker: (marker, seconds) => report({ kind: 'step-status', step, text: `${marker} after ${seconds.toFixed(1)}s`, milestone: true }),
      });
      try {
        const result = await bootAndCheck(guest, flags, step, report);
        process.stdout.write(`${JSON.stringify(result)}\n`);
        if (!result.ok || result.checks?.some((check) => !check.ok)) process.exitCode = 1;
      } finally {
        await guest.stop();
      }
    });
}

type CheckedBoot = BootResult & { checks?: CheckResult[] };

async function bootAndCheck(guest: Guest, flags: BootFlags, step: string, report: Reporter): Promise<CheckedBoot> {
  let result: BootResult;
  try {
    result = await guest.waitForLogin();
  } catch (error) {
    if (!(error instanceof BootError)) throw error;
    result = error.result;
    report({ kind: 'step-failed', step, seconds: result.seconds });
    report({ kind: 'info', text: `boot phases until it stopped: ${formatPhases(result.phases)}` });
    process.stderr.write(`error: ${step} failed (${result.accelerator}): ${result.reason}\n  serial log: ${result.logPath}\n`);
    return result;
  }
  report({ kind: 'step-done', step, seconds: result.seconds, outcome: 'passed', detail: `${result.accelerator}, login prompt at ${result.markers.login}s` });
  if (!flags.sshKey) {
    report({ kind: 'info', text: `boot phases (serial console): ${formatPhases(result.phases)}` });
    return result;
  }

  const sshStep = `ssh ${flags.sshUser}@127.0.0.1:${guest.sshPort}`;
  report({ kind: 'step-start', step: sshStep });
  const started = performance.now();
  try {
    await guest.waitForSsh();
  } catch (error) {
    report({ kind: 'step-failed', step: sshStep, seconds: (performance.now() - started) / 1000 });
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n  serial log: ${result.logPath}\n`);
    return { ...result, ok: false, reason: `SSH did not answer: ${error instanceof Error ? error.message : String(error)}` };
  }
  report({ kind: 'step-done', step: sshStep, seconds: (performance.now() - started) / 1000, outcome: 'passed', detail: 'sshd answered' });
  const times = await guest.measureBoot();
  const source = times.systemd ? 'serial console + systemd-analyze' : 'serial console';
  report({ kind: 'info', text: `boot phases (${source}): ${formatPhases(times.phases)}` });
  const measured = { ...result, markers: times.markers, phases: times.phases, ...(times.systemd ? { systemd: times.systemd } : {}) };
  const checks = await runChecks(guest, flags.check, (check) => report({ kind: 'info', text: formatCheck(check) }));
  const failed = checks.filter((check) => !check.ok).length;
  if (checks.length > 0) report({ kind: 'info', text: failed === 0 ? `all ${checks.length} checks passed` : `${failed} of ${checks.length} checks failed` });
  return { ...measured, checks };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInteger(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new UserError(`${flag} must be a positive whole number, got "${value}"`, `for example ${flag} 300`);
  return number;
}
