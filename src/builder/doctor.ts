/**
 * `ros-build doctor`: where each command's tools come from on this machine —
 * the host, or the builder image when the host lacks one — and which commands
 * cannot run at all, with the fix.
 */
import { COMMAND_TOOLS } from './delegate.js';

export type ToolSource = { tool: string; path: string } | { tool: string; path: undefined };

export interface CommandReadiness {
  command: string;
  /** host: every tool found here; builder: some missing here, the builder image runs it; missing: neither. */
  runs: 'host' | 'builder' | 'missing';
  missing: string[];
}

/** Each command of COMMAND_TOOLS, given where its tools were found and whether the builder image is present (or this is it). */
export function assessCommands(found: ReadonlyMap<string, string | undefined>, builderPresent: boolean): CommandReadiness[] {
  return Object.entries(COMMAND_TOOLS).map(([command, tools]) => {
    const missing = tools.filter((tool) => !found.get(tool));
    return { command, missing, runs: missing.length === 0 ? 'host' : builderPresent ? 'builder' : 'missing' };
  });
}

export function renderDiagnosis(options: { engine: string; builder: string; found: ReadonlyMap<string, string | undefined>; commands: readonly CommandReadiness[]; builderImage: string }): string {
  const users = new Map<string, string[]>();
  for (const [command, tools] of Object.entries(COMMAND_TOOLS)) for (const tool of tools) users.set(tool, [...(users.get(tool) ?? []), command]);
  const width = Math.max(...[...options.found.keys()].map((tool) => tool.length));
  const lines = [`engine:  ${options.engine}`, `builder: ${options.builder}`, '', 'tools:'];
  for (const [tool, path] of [...options.found].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${tool.padEnd(width)}  ${(path ?? 'not here').padEnd(36)} ${users.get(tool)!.join(' ')}`);
  }
  lines.push('', 'commands:');
  for (const { command, runs, missing } of options.commands) {
    const where = runs === 'host' ? 'this host' : runs === 'builder' ? `the builder image ${options.builderImage} (not here: ${missing.join(', ')})` : `CANNOT RUN: ${missing.join(', ')} not here and no builder image`;
    lines.push(`  ${command.padEnd(8)} ${where}`);
  }
  if (options.commands.some((entry) => entry.runs === 'missing')) {
    lines.push('', `fix: install the tools (make setup on Debian), or make the builder image (make builder) or pull it and set ROS_BUILD_BUILDER_IMAGE`);
  }
  return `${lines.join('\n')}\n`;
}
