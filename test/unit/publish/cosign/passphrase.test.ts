import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../src/errors.js';
import { readPassphrase } from '../../../../src/publish/cosign/passphrase.js';

/** A stand-in terminal: what the user types goes in `keys`, what we print comes out of `screen`. */
function fakeTerminal(typed: string[]) {
  const input = Object.assign(new PassThrough(), { isTTY: true, rawModes: [] as boolean[] });
  const terminal = Object.assign(input, {
    setRawMode(mode: boolean) {
      input.rawModes.push(mode);
      return input;
    },
  });
  const output = new PassThrough();
  let screen = '';
  output.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  for (const keys of typed) input.write(keys);
  return { input: terminal, output, screen: () => screen };
}

const KEY = { confirm: false, keyPath: 'cosign.key' };

describe('readPassphrase', () => {
  it('takes COSIGN_PASSWORD when set, even empty, without prompting', async () => {
    const terminal = fakeTerminal([]);
    expect(await readPassphrase(KEY, { env: { COSIGN_PASSWORD: 'from-env' }, ...terminal })).toBe('from-env');
    expect(await readPassphrase({ ...KEY, confirm: true }, { env: { COSIGN_PASSWORD: '' }, ...terminal })).toBe('');
    expect(terminal.screen()).toBe('');
  });

  it('without the variable and without a terminal, says how to give one', async () => {
    const notATty = Object.assign(new PassThrough(), { isTTY: false });
    const error = await readPassphrase({ confirm: false, keyPath: 'keys/release.key' }, { env: {}, input: notATty, output: new PassThrough() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe('no passphrase for keys/release.key: set COSIGN_PASSWORD or run in a terminal');
  });

  it('reads a line typed on the terminal in raw mode, echoing nothing of it', async () => {
    const terminal = fakeTerminal(['s3', 'cret!\r']);
    expect(await readPassphrase(KEY, { env: {}, ...terminal })).toBe('s3cret!');
    expect(terminal.screen()).toBe('Enter passphrase for cosign.key: \n');
    expect(terminal.input.rawModes).toEqual([true, false]);
  });

  it('applies backspace', async () => {
    const terminal = fakeTerminal(['abx\u007fc\r']);
    expect(await readPassphrase(KEY, { env: {}, ...terminal })).toBe('abc');
  });

  it('asks twice for a new key, and refuses two different answers', async () => {
    const same = fakeTerminal(['pässwörd\r', 'pässwörd\r']);
    expect(await readPassphrase({ confirm: true, keyPath: 'new.key' }, { env: {}, ...same })).toBe('pässwörd');
    expect(same.screen()).toBe('Enter passphrase for new.key: \nEnter passphrase for new.key again: \n');

    // Both answers in one chunk, as when pasted: the second line must reach the second prompt.
    const pasted = fakeTerminal(['one\r\none\r\n']);
    expect(await readPassphrase({ confirm: true, keyPath: 'new.key' }, { env: {}, ...pasted })).toBe('one');

    const differ = fakeTerminal(['first-Answer\r', 'second-Answer\r']);
    const error = await readPassphrase({ confirm: true, keyPath: 'new.key' }, { env: {}, ...differ }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe('the two passphrases typed differ');
    expect(`${(error as UserError).message}${(error as UserError).hint}`).not.toMatch(/Answer/);
  });

  it('gives up on end of input (Ctrl-D) at an empty prompt', async () => {
    const terminal = fakeTerminal(['\u0004']);
    await expect(readPassphrase(KEY, { env: {}, ...terminal })).rejects.toThrow(UserError);
    expect(terminal.input.rawModes).toEqual([true, false]);
  });
});
