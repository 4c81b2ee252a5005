#!/usr/bin/env node
import { Command } from 'commander';
import { registerBootCommand } from './commands/boot.js';
import { registerBuildCommands } from './commands/build.js';
import { registerConfigCommand } from './commands/config.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerPlanCommand } from './commands/plan.js';
import { registerPruneCommand } from './commands/prune.js';
import { registerServeCommand } from './commands/serve.js';
import { registerKeygenCommand } from './commands/keygen.js';
import { registerPublishCommands, registerSigningCommands } from './commands/publish.js';
import { delegateToBuilder } from './builder/delegate.js';
import { installSignalHandlers, runCleanups } from './cleanup.js';
import { connectEngine } from './docker/engine.js';
import { formatError, UserError } from './errors.js';

/** The command ran in the builder image (src/builder/delegate.ts): its exit code is ours. */
class RanInBuilder extends Error {
  constructor(readonly exitCode: number) {
    super(`ran in the builder image (exit ${exitCode})`);
  }
}

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
registerDoctorCommand(program);
// A host that lacks a command's tools runs it in the builder image, when that image is here.
program.hook('preAction', async (_program, action) => {
  const exitCode = await delegateToBuilder(() => connectEngine(), action.name(), process.argv.slice(2));
  if (exitCode !== undefined) throw new RanInBuilder(exitCode);
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  await runCleanups();
  if (error instanceof RanInBuilder) process.exitCode = error.exitCode;
  else {
    process.stderr.write(`${formatError(error)}\n`);
    process.exitCode = error instanceof UserError ? 2 : 1;
  }
}
