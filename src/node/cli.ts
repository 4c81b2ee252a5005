import { Command, Option } from 'commander';
import { formatProblem, validateConfigFile } from '../config/load.js';
import type { Phase } from '../config/types.js';
import { gatherConfig } from './config-sources.js';
import { rollback } from './commands/rollback.js';
import { readStatus, renderStatus } from './commands/status.js';
import { applyPhase, PHASES } from './phases.js';
import { renderConfig } from './show.js';
import { createSystem } from './system.js';
import { registerInstallCommand } from './install/command.js';

declare const ROS_VERSION: string;
const version = typeof ROS_VERSION === 'string' ? ROS_VERSION : 'dev';
const standardOutput = { out: (text: string) => process.stdout.write(text), err: (text: string) => process.stderr.write(text) };

/** `ros`: the node's own tool. Each subcommand sets process.exitCode; nothing here calls process.exit mid-write. */
function createProgram(): Command {
  const program = new Command('ros').description('The RancherOS node tool: configuration, install, status, upgrade and rollback.').version(version);
  // A root other than / lets the tool be tried on an unpacked image; the node's units never set it.
  program.addOption(new Option('--root <dir>', 'apply to and read from this root instead of /').default('/').hideHelp());
  const config = program.command('config').description('Show, check and apply the node configuration (every key, source and phase: /usr/lib/ros/configuration.md)');
  config
    .command('show')
    .description('Print the merged configuration from every source, secrets masked, and each source with its problems')
    .action(async () => {
      const gathered = await gatherConfig(program.opts<{ root: string }>().root);
      for (const source of gathered.sources) process.stderr.write(`# source: ${source.source}\n`);
      for (const problem of gathered.sources.flatMap((s) => s.problems)) process.stderr.write(`${formatProblem(problem)}\n`);
      process.stdout.write(renderConfig(gathered.merged));
    });
  config
    .command('validate')
    .argument('<file>', 'a cloud-config file')
    .description('Check a file against the configuration schema: exit 1 on an error, warnings for unknown keys')
    .action(async (file: string) => {
      process.exitCode = await validateConfigFile(file, standardOutput);
    });
  config
    .command('apply')
    .description('Apply one phase of the configuration (what the ros-config-* units run at boot)')
    .addOption(new Option('--phase <phase>', 'init (before services), boot (before the network) or runtime (network online)').choices(PHASES).makeOptionMandatory())
    .action(async (options: { phase: Phase }) => {
      const { ok } = await applyPhase(createSystem(program.opts<{ root: string }>().root), options.phase);
      if (!ok) process.exitCode = 1;
    });
  config
    .command('serve')
    .description('Apply the phases the ros-config-* units ask for on the socket systemd passes in (ros-phases.socket): one start serves all three')
    .action(async () => {
      if (process.env.LISTEN_PID !== String(process.pid) || process.env.LISTEN_FDS !== '1') {
        throw new Error('ros config serve runs from ros-phases.socket (systemd socket activation); to apply a phase by hand run: ros config apply --phase <phase>');
      }
      const { createPhaseServer } = await import('./phase-server.js');
      // fd 3: the first socket systemd passes (sd_listen_fds).
      createPhaseServer((output) => createSystem(program.opts<{ root: string }>().root, output)).listen({ fd: 3 }, () => process.stdout.write(`ros: serving the configuration phases (pid ${process.pid})\n`));
    });
  program
    .command('status')
    .description('The booted image and its try, whether this boot is a fallback and why, boot assessment\'s counts, whether the persistent paths are kept, each image (active, passive, recovery) with its name and version, the last slot change, the last boots')
    .option('--json', 'print JSON instead of text')
    .action(async (options: { json?: boolean }) => {
      const status = await readStatus(createSystem(program.opts<{ root: string }>().root));
      process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
    });
  program
    .command('rollback')
    .description('Make the passive image active for the next boot and by default (the active one becomes passive)')
    .action(async () => {
      process.stdout.write(`${await rollback(createSystem(program.opts<{ root: string }>().root))}\n`);
    });
  program
    .command('upgrade')
    .description('Upgrade to an OS image from a registry: pull it (its cosign signature checked when a key is set), write it beside the running system, make it active (the running image becomes passive) and reboot; a boot of it that does not complete falls back to the previous image')
    .option('--image <ref>', 'the image (default: ros.upgrade.image, else the IMAGE of /usr/lib/ros-release)')
    .option('--key <pub>', 'a cosign public key file; set (here or as ros.upgrade.verify_key), an image without a valid signature is refused')
    .option('--allow-http', 'talk plain HTTP to a registry that is not on loopback')
    .option('--dry-run', 'check the image and its signature, write nothing')
    .option('--recovery', 'replace the recovery image instead of the active one')
    .option('--no-reboot', 'do not reboot afterwards (the new image starts at the next boot)')
    .action(async (options: { image?: string; key?: string; allowHttp?: boolean; dryRun?: boolean; recovery?: boolean; reboot: boolean }) => {
      // Loaded here only: the registry client, the verifier and the image writer are not needed at boot.
      const { checkUpgrade, renderCheck, upgradeSystem } = await import('./upgrade/index.js');
      const system = createSystem(program.opts<{ root: string }>().root);
      const request = { image: options.image, key: options.key, allowHttp: Boolean(options.allowHttp) };
      if (options.dryRun) {
        process.stdout.write(renderCheck(await checkUpgrade(system, request)));
        return;
      }
      process.stdout.write(await upgradeSystem(system, { ...request, recovery: Boolean(options.recovery), reboot: options.reboot }));
    });
  registerInstallCommand(program);
  return program;
}

createProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`ros: error: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
