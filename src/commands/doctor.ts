import type { Command } from 'commander';
import { BUILDER_IMAGE, COMMAND_TOOLS } from '../builder/delegate.js';
import { assessCommands, renderDiagnosis } from '../builder/doctor.js';
import { IN_BUILDER } from '../builder/work-mount.js';
import { connectEngine, findImage } from '../docker/engine.js';
import { locateTool } from '../exec/find-tool.js';
import { formatError } from '../errors.js';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('say where each command\'s tools come from here (this host or the builder image) and what cannot run; exit 1 when a command cannot')
    .action(async () => {
      const found = new Map<string, string | undefined>();
      for (const tool of new Set(Object.values(COMMAND_TOOLS).flat())) found.set(tool, await locateTool(tool));
      let engine: string;
      let builder: string;
      let builderPresent = IN_BUILDER;
      try {
        const docker = await connectEngine();
        const version = await docker.version();
        engine = `Docker ${version.Version} (API ${version.ApiVersion}) at ${process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'}`;
        const id = IN_BUILDER ? undefined : await findImage(docker, BUILDER_IMAGE);
        builderPresent ||= id !== undefined;
        builder = IN_BUILDER ? 'this is the builder image' : id ? `${BUILDER_IMAGE} (${id.slice(0, 19)})` : `${BUILDER_IMAGE} not here (make builder)`;
      } catch (error) {
        engine = `none: ${formatError(error)}`;
        builder = 'unknown without an engine';
      }
      const commands = assessCommands(found, builderPresent);
      process.stdout.write(renderDiagnosis({ engine, builder, found, commands, builderImage: BUILDER_IMAGE }));
      if (commands.some((entry) => entry.runs === 'missing')) process.exitCode = 1;
    });
}
