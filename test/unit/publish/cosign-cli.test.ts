/**
 * The cosign CLI path of `sign`, against a stand-in `cosign` on PATH that
 * records how it was called. The real CLI is not installable here; this pins
 * what we hand it: a digest (never a tag), --yes, the passphrase only in the
 * environment, registry credentials only in a private DOCKER_CONFIG.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKeyPair } from '../../../src/publish/cosign/key-file.js';
import type { RegistryClient } from '../../../src/publish/registry/client.js';
import { chooseSigner } from '../../../src/publish/signer.js';
import { scratchDirs } from '../../helpers/scratch.js';

const tempDir = scratchDirs();

const dir = tempDir('ros-build-cosign-cli-');
const record = join(dir, 'calls.jsonl');
const digest = `sha256:${'c'.repeat(64)}`;
const ref = { registry: 'registry.example.com', repository: 'os/os2', digest };
const client = { loginCredentials: { username: 'ci', password: 'registry-secret', source: 'test' } } as unknown as RegistryClient;
let savedPath: string | undefined;
let savedPassword: string | undefined;

function calls(): Array<{ args: string[]; password: string | null; dockerConfig: string | null }> {
  return readFileSync(record, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
}

beforeAll(async () => {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // Records argv, COSIGN_PASSWORD and the Docker config it was given; "writes" the blob outputs it is asked for.
  writeFileSync(join(bin, 'cosign'), `#!/usr/bin/env node
const fs = require('fs');
const args = process.argv.slice(2);
if (args[0] === 'version') process.exit(0);
const config = process.env.DOCKER_CONFIG ? fs.readFileSync(process.env.DOCKER_CONFIG + '/config.json', 'utf8') : null;
fs.appendFileSync(${JSON.stringify(record)}, JSON.stringify({ args, password: process.env.COSIGN_PASSWORD ?? null, dockerConfig: config }) + '\\n');
for (const flag of ['--output-signature', '--output-certificate', '--bundle']) {
  const i = args.indexOf(flag);
  if (i >= 0) fs.writeFileSync(args[i + 1], 'x');
}
`);
  chmodSync(join(bin, 'cosign'), 0o755);
  savedPath = process.env.PATH;
  savedPassword = process.env.COSIGN_PASSWORD;
  process.env.PATH = `${bin}${delimiter}${process.env.PATH}`;
  process.env.COSIGN_PASSWORD = 'key-passphrase';
  await writeKeyPair(join(dir, 'cosign'), 'key-passphrase');
});

afterAll(() => {
  process.env.PATH = savedPath;
  if (savedPassword === undefined) delete process.env.COSIGN_PASSWORD;
  else process.env.COSIGN_PASSWORD = savedPassword;
});

describe('signing through the cosign CLI', () => {
  it('is chosen when cosign is on PATH, signs the digest with the key, secrets off the command line', async () => {
    const signer = await chooseSigner({ keyPath: join(dir, 'cosign.key'), keyless: false, choice: 'auto', allowHttp: false });
    expect(signer.name).toBe('cosign CLI');
    await signer.signImage(client, ref);
    const call = calls().at(-1)!;
    expect(call.args).toEqual(['sign', '--yes', '--key', join(dir, 'cosign.key'), '--tlog-upload=false', `registry.example.com/os/os2@${digest}`]);
    expect(call.password).toBe('key-passphrase');
    expect(JSON.parse(call.dockerConfig!).auths['registry.example.com'].auth).toBe(Buffer.from('ci:registry-secret').toString('base64'));
    expect(call.args.join(' ')).not.toContain('registry-secret');
    expect(call.args.join(' ')).not.toContain('key-passphrase');
  });

  it('checks the passphrase itself before cosign ever runs', async () => {
    process.env.COSIGN_PASSWORD = 'wrong';
    try {
      await expect(chooseSigner({ keyPath: join(dir, 'cosign.key'), keyless: false, choice: 'auto', allowHttp: false })).rejects.toThrow(/wrong passphrase/);
    } finally {
      process.env.COSIGN_PASSWORD = 'key-passphrase';
    }
  });

  it('keyless: no key, and sign-blob writes the signature, certificate and bundle', async () => {
    const signer = await chooseSigner({ keyless: true, choice: 'auto', allowHttp: false });
    await signer.signImage(client, ref);
    expect(calls().at(-1)!.args).toEqual(['sign', '--yes', `registry.example.com/os/os2@${digest}`]);
    const files = { signature: join(dir, 'SUMS.sig'), certificate: join(dir, 'SUMS.pem'), bundle: join(dir, 'SUMS.sigstore.json') };
    expect(await signer.signBlob(join(dir, 'cosign.pub'), files)).toEqual([files.signature, files.certificate, files.bundle]);
    expect(calls().at(-1)!.args).toEqual(['sign-blob', '--yes', '--output-signature', files.signature, '--output-certificate', files.certificate, '--bundle', files.bundle, join(dir, 'cosign.pub')]);
  });

  it('--signer builtin does not use cosign even when it is on PATH', async () => {
    const signer = await chooseSigner({ keyPath: join(dir, 'cosign.key'), keyless: false, choice: 'builtin', allowHttp: false });
    expect(signer.name).toBe('built-in signer');
  });
});
