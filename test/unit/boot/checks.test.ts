import { describe, expect, it } from 'vitest';
import { formatCheck, runChecks } from '../../../src/boot/checks.js';

describe('runChecks', () => {
  it('runs every check in order, also after one failed, and reports each as it ends', async () => {
    const ran: string[] = [];
    const guest = {
      run: async (command: string) => {
        ran.push(command);
        return command === 'false' ? { exitCode: 1, stdout: '', stderr: 'nope\n' } : { exitCode: 0, stdout: 'ok\n', stderr: '' };
      },
    };
    const reported: string[] = [];
    const results = await runChecks(guest, ['true', 'false', 'hostname'], (result) => reported.push(result.command));
    expect(ran).toEqual(['true', 'false', 'hostname']);
    expect(reported).toEqual(ran);
    expect(results.map((result) => result.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ command: 'false', exitCode: 1, stderr: 'nope\n' });
  });
});

describe('formatCheck', () => {
  it('prints a pass on one line and a failure with its output indented', () => {
    expect(formatCheck({ command: 'true', ok: true, exitCode: 0, stdout: 'x', stderr: '', seconds: 0.42 })).toBe('✓ check: true (0.4s)');
    expect(formatCheck({ command: 'grep x /etc/y', ok: false, exitCode: 2, stdout: 'out\n', stderr: 'grep: /etc/y: No such file\n', seconds: 1 })).toBe(
      '✗ check: grep x /etc/y (exit 2)\n    out\n    grep: /etc/y: No such file',
    );
  });

  it('says that 255 may be ssh failing rather than the command', () => {
    expect(formatCheck({ command: 'ls', ok: false, exitCode: 255, stdout: '', stderr: 'Connection closed\n', seconds: 1 })).toMatch(/exit 255: the command, or ssh itself/);
  });
});
