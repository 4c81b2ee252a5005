import type { Command } from 'commander';
import { validateConfigFile } from '../config/load.js';

/** The node's configuration, checked on the build host with the same schema and rules as `ros config validate` on a node. */
export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description("check a node configuration (cloud-config) file before it goes on a medium or a disk");
  config
    .command('validate')
    .argument('<file>', 'a cloud-config file')
    .description('check a file against the node configuration schema (src/config/node-config.schema.json): every problem with its key path, exit 1 on an error; unknown keys are warnings')
    .action(async (file: string) => {
      process.exitCode = await validateConfigFile(file, { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) });
    });
}
