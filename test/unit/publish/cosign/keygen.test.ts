import { Command } from 'commander';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerKeygenCommand } from '../../../../src/commands/keygen.js';
import { UserError } from '../../../../src/errors.js';
import { decryptPrivateKey, readPublicKey } from '../../../../src/publish/cosign/key-file.js';

function keygen(...args: string[]): Promise<Command> {
  const program = new Command().exitOverride();
  registerKeygenCommand(program);
  return program.parseAsync(['node', 'ros-build', 'keygen', ...args]);
}

describe('ros-build keygen', () => {
  let dir: string;
  let printed: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ros-keygen-'));
    printed = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed += chunk.toString();
      return true;
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the pair under the prefix with the COSIGN_PASSWORD passphrase and names both files', async () => {
    vi.stubEnv('COSIGN_PASSWORD', 'keygen-test');
    const prefix = join(dir, 'release');
    await keygen('--output-prefix', prefix);
    const privateKey = await decryptPrivateKey(await readFile(`${prefix}.key`, 'utf8'), 'keygen-test', `${prefix}.key`);
    expect(readPublicKey(await readFile(`${prefix}.pub`, 'utf8'), `${prefix}.pub`).asymmetricKeyDetails?.namedCurve).toBe(
      privateKey.asymmetricKeyDetails?.namedCurve,
    );
    expect((await stat(`${prefix}.key`)).mode & 0o777).toBe(0o600);
    expect(printed).toContain(`${prefix}.key`);
    expect(printed).toContain(`${prefix}.pub`);
    expect(printed).toMatch(/never commit/);
    expect(printed).not.toContain('keygen-test');
  });

  it('refuses an existing key before asking for a passphrase, and replaces it with --force', async () => {
    const prefix = join(dir, 'cosign');
    await writeFile(`${prefix}.key`, 'precious');
    // No COSIGN_PASSWORD and no terminal: had it asked first, this would fail on the passphrase instead.
    vi.stubEnv('COSIGN_PASSWORD', undefined);
    const error = await keygen('--output-prefix', prefix).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toContain('already exists');
    expect(await readFile(`${prefix}.key`, 'utf8')).toBe('precious');

    vi.stubEnv('COSIGN_PASSWORD', 'forced');
    await keygen('--output-prefix', prefix, '--force');
    await decryptPrivateKey(await readFile(`${prefix}.key`, 'utf8'), 'forced', `${prefix}.key`);
  });
});
