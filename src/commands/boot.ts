import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { smokeBoot } from '../boot/smoke.js';
import { UserError } from '../errors.js';
import { createReporter } from '../progress/reporter.js';

export function registerBootCommand(program: Command): void {
  program
    .command('boot')
    .description('smoke-boot an artifact in qemu; exit 0 only when it reaches multi-user and a login prompt on the serial console')
    .argument('<artifact>', 'ISO (.iso) or disk image (.img, .raw, .qcow2)')
    .addOption(new Option('--firmware <firmware>', 'firmware').choices(['bios', 'uefi']).default('bios'))
    .option('--as-disk', 'boot an ISO as a disk, as it boots written to a USB stick')
    .option('--timeout <seconds>', 'give up after this long', '300')
    .option('--memory <MiB>', 'guest memory', '1536')
    .addOption(new Option('--accel <accelerator>', 'qemu accelerator (auto probes whether KVM really runs a guest)').choices(['auto', 'kvm', 'tcg']).default('auto'))
    .option('--log <file>', 'serial log (default: <artifact>.<firmware>.serial.log)')
    .action(async (artifact: string, flags: { firmware: 'bios' | 'uefi'; asDisk?: boolean; timeout: string; memory: string; accel: 'auto' | 'kvm' | 'tcg'; log?: string }) => {
      const timeoutSeconds = positiveInteger(flags.timeout, '--timeout');
      const memoryMiB = positiveInteger(flags.memory, '--memory');
      const report = createReporter();
      const step = `boot ${flags.firmware}${flags.asDisk ? ' (as disk)' : ''}`;
      report({ kind: 'step-start', step });
      const result = await smokeBoot({
        artifact: resolve(artifact),
        firmware: flags.firmware,
        asDisk: flags.asDisk,
        timeoutSeconds,
        memoryMiB,
        accelerator: flags.accel,
        logPath: flags.log ? resolve(flags.log) : undefined,
        onMarker: (marker, seconds) => report({ kind: 'step-status', step, text: `${marker} after ${seconds.toFixed(1)}s`, milestone: true }),
      });
      if (!result.ok) {
        report({ kind: 'step-failed', step, seconds: result.seconds });
        process.stderr.write(`error: ${step} failed (${result.accelerator}): ${result.reason}\n  serial log: ${result.logPath}\n`);
        process.exitCode = 1;
        return;
      }
      report({ kind: 'step-done', step, seconds: result.seconds, outcome: 'passed', detail: `${result.accelerator}, login prompt at ${result.markers.login}s` });
      process.stdout.write(`${JSON.stringify(result)}\n`);
    });
}

function positiveInteger(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new UserError(`${flag} must be a positive whole number, got "${value}"`, `for example ${flag} 300`);
  return number;
}
