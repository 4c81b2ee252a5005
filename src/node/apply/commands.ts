import type { Command } from '../../config/types.js';
import type { NodeSystem } from '../system.js';

/**
 * A phase's commands in order, each to the end even when one fails (a later
 * one may not depend on it). A string runs in sh; a list runs as argv.
 */
export async function runCommands(system: NodeSystem, key: string, commands: readonly Command[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const errors: string[] = [];
  for (const [index, command] of commands.entries()) {
    const [file, ...args] = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
    system.log(`ros: ${key}[${index}]: running`);
    const result = await system.run(file!, args, { env, passOutput: true });
    if (result.code !== 0) errors.push(`${key}[${index}]: exited with ${result.code}${result.output ? `: ${result.output.trim()}` : ''}`);
  }
  return errors;
}
