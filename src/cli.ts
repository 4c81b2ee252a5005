#!/usr/bin/env node
import { Command } from 'commander';
import { registerBootCommand } from './commands/boot.js';
import { registerBuildCommands } from './commands/build.js';
import { registerConfigCommand } from './commands/config.js';
import { registerPlanCommand } from './commands/plan.js';
import { registerPruneCommand } from './commands/prune.js';
import { registerServeCommand } from './commands/serve.js';
import { registerKeygenCommand } from './commands/keygen.js';
import { registerPublishCommands, registerSigningCommands } from './commands/publish.js';
import { installSignalHandlers, runCleanups } from './cleanup.js';
import { formatError, UserError } from './errors.js';

const program = new Command()
  .name('ros-build')
  .description('Build an image-based OS from layered Dockerfiles into bootable media, and prove it boots')
  .showHelpAfterError()
  .configureHelp({ showGlobalOptions: true });

installSignalHandlers();
registerBuildCommands(program);
registerPlanCommand(program);
registerBootCommand(program);
registerPublishCommands(program);
registerSigningCommands(program);
registerKeygenCommand(program);
registerPruneCommand(program);
registerServeCommand(program);
registerConfigCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  await runCleanups();
  process.stderr.write(`${formatError(error)}\n`);
  process.exitCode = error instanceof UserError ? 2 : 1;
}
