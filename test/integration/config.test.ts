import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, specFlags } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ros-config-it-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ros-build config validate', () => {
  it('passes a valid file, with warnings for unknown keys', async () => {
    const result = await runCli(['config', 'validate', file('ok.yaml', '#cloud-config\nhostname: a\nhostnme: b\n')]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/ok\.yaml: valid \(1 warning\)/);
    expect(result.stderr).toContain('warning: ');
    expect(result.stderr).toContain('hostnme: unknown key, ignored (did you mean "hostname"?)');
  });

  it('fails a wrong type with the key path, and a file that does not exist', async () => {
    const typed = await runCli(['config', 'validate', file('typed.yaml', 'write_files:\n  - { path: /a, permissions: "99" }\n')]);
    expect(typed.exitCode).toBe(1);
    expect(typed.stderr).toMatch(/error: .*typed\.yaml: write_files\[0\]\.permissions: /);
    const missing = await runCli(['config', 'validate', join(dir, 'absent.yaml')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/absent\.yaml: no such file/);
  });

  it('makes `iso --cloud-config` refuse a broken file before building anything', async () => {
    const result = await runCli(['iso', '--cloud-config', file('broken.yaml', '#cloud-config\nros: [\n'), '--output', join(dir, 'never.iso'), ...specFlags()]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/broken\.yaml has 1 error/);
    expect(result.stderr).not.toMatch(/layer base: started/);
  });
});
