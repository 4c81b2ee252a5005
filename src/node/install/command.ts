/**
 * `ros install` on the command line. The installer itself is loaded only
 * when the command runs: `ros` starts three times per boot and must not
 * parse it each time.
 */
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { createSystem } from '../system.js';
import type { InstallOptions } from './request.js';

interface CommandOptions {
  device?: string;
  config?: string;
  silent?: boolean;
  powerOff?: boolean;
  /** Commander's negation: false when --no-reboot is given. */
  reboot: boolean;
  /** Commander's negation: false when --no-format is given. */
  format: boolean;
  forceEfi?: boolean;
  automatic?: boolean;
  debug?: boolean;
  tty?: string;
  image?: string;
  verifyKey?: string;
  allowHttp?: boolean;
  isoUrl?: string;
}

/** Flags given on the command line win; what is not given comes from ros.install.* (so no defaults here). */
export function toInstallOptions(options: CommandOptions): InstallOptions {
  return {
    device: options.device,
    config: options.config,
    silent: options.silent,
    powerOff: options.powerOff,
    reboot: options.reboot === false ? false : undefined,
    noFormat: options.format === false ? true : undefined,
    forceEfi: options.forceEfi,
    automatic: options.automatic,
    debug: options.debug,
    tty: options.tty,
    image: options.image,
    verifyKey: options.verifyKey,
    allowHttp: options.allowHttp,
    isoUrl: options.isoUrl,
  };
}

export function registerInstallCommand(program: Command): void {
  program
    .command('install')
    .description('Install the live system to a disk (erasing it): GPT, A/B images and recovery, BIOS and UEFI boot code, the configuration on COS_OEM; then reboot. Without --device (and ros.install.device) it lists the disks and asks.')
    .option('--device <disk>', 'the whole disk to install to, e.g. /dev/vda (ros.install.device)')
    .option('--config <file-or-url>', 'a cloud-config file or http(s) URL for the installed system, checked before anything is written (ros.install.config_url)')
    .option('--silent', 'ask nothing: a missing device is an error, nothing is confirmed (ros.install.silent)')
    .option('--power-off', 'power off instead of rebooting when done (ros.install.power_off)')
    .option('--no-reboot', 'neither reboot nor power off when done')
    .option('--no-format', 'keep the ros partitions already on the disk (found by label) and only rewrite the images and the boot code (ros.install.no_format)')
    .option('--force-efi', 'accepted for compatibility: BIOS and UEFI boot code are always both written (ros.install.force_efi)')
    .option('--automatic', 'take everything from ros.install.*; do nothing (exit 0) unless ros.install.automatic is true or ros.install.fallback_mode is install (what ros-install.service runs)')
    .option('--debug', 'print each command as it runs (ros.install.debug)')
    .option('--tty <path>', 'write progress (and ask questions) on this terminal instead of stdout (ros.install.tty)')
    .option('--image <ref>', 'install this OCI image instead of the running one: pulled by digest, its signature checked as ros upgrade does (ros.install.image)')
    .option('--verify-key <key>', 'the cosign public key --image must be signed with: a file, a PEM, or its base64 body (ros.install.verify_key; default ros.upgrade.verify_key)')
    .option('--allow-http', 'pull --image from a registry that speaks plain HTTP (ros.install.allow_http)')
    .option('--iso-url <url>', 'install from this ISO, fetched over http(s), instead of the booted medium (ros.install.iso_url)')
    .action(async (options: CommandOptions) => {
      const { installSystem } = await import('./index.js');
      try {
        const outcome = await installSystem(createSystem(program.opts<{ root: string }>().root), toInstallOptions(options));
        if (outcome.result === 'skipped') process.stdout.write(`ros install: ${outcome.reason}\n`);
      } catch (error) {
        // Refusals (nothing written) exit 2 with their hint; a failure while writing exits 1.
        if (!(error instanceof UserError)) throw error;
        process.stderr.write(`ros: error: ${error.message}\n${error.hint ? `  hint: ${error.hint}\n` : ''}`);
        process.exitCode = 2;
      }
    });
}
