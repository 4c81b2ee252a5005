import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { decodeContent, parseOwner, parsePermissions } from '../../../src/node/encodings.js';

const TEXT = 'hello, wörld\nsecond line\n';
const BINARY = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0x0a, 0xc3, 0x28]);
const gz = (data: string | Buffer): Buffer => gzipSync(data);
const b64 = (data: Buffer | string): string => Buffer.from(data).toString('base64');

describe('decodeContent', () => {
  it('writes text as UTF-8 when there is no encoding', () => {
    for (const encoding of [undefined, '', 'text/plain', ' ']) {
      expect(decodeContent(TEXT, encoding)).toEqual(Buffer.from(TEXT, 'utf8'));
    }
  });

  it('writes an empty file when there is no content', () => {
    expect(decodeContent(undefined, undefined)).toEqual(Buffer.alloc(0));
    expect(decodeContent(undefined, 'gzip+base64')).toEqual(Buffer.alloc(0));
    expect(decodeContent('', 'gz')).toEqual(Buffer.alloc(0));
    expect(() => decodeContent(undefined, 'rot13')).toThrow(/unknown encoding/);
  });

  it('writes bytes as they are when there is no encoding', () => {
    expect(decodeContent(new Uint8Array(BINARY), undefined)).toEqual(BINARY);
  });

  it('decodes base64 under both names and any case, with line breaks and without padding', () => {
    for (const encoding of ['b64', 'base64', 'B64', 'Base64']) {
      expect(decodeContent(b64(BINARY), encoding)).toEqual(BINARY);
    }
    const wrapped = b64(Buffer.from(TEXT.repeat(10))).replace(/(.{76})/g, '$1\n');
    expect(decodeContent(wrapped, 'b64').toString('utf8')).toBe(TEXT.repeat(10));
    expect(decodeContent('aGk', 'b64').toString()).toBe('hi');
  });

  it('decodes gzip bytes, from !!binary bytes or from a string holding them', () => {
    for (const encoding of ['gz', 'gzip', 'GZIP']) {
      expect(decodeContent(gz(TEXT), encoding).toString('utf8')).toBe(TEXT);
      expect(decodeContent(gz(BINARY).toString('latin1'), encoding)).toEqual(BINARY);
    }
  });

  it('decodes gzip inside base64 under all four names', () => {
    for (const encoding of ['gz+b64', 'gzip+base64', 'gzip+b64', 'gz+base64', 'GZ+B64']) {
      expect(decodeContent(b64(gz(BINARY)), encoding)).toEqual(BINARY);
    }
  });

  it('decodes !!binary content read by the yaml package with its default options', () => {
    const text = [
      '#cloud-config',
      'write_files:',
      '  - path: /raw',
      '    content: !!binary |',
      `      ${b64(BINARY)}`,
      '  - path: /gz',
      '    encoding: gzip',
      '    content: !!binary |',
      `      ${b64(gz(TEXT))}`,
      '  - path: /b64',
      '    encoding: b64',
      `    content: ${b64(TEXT)}`,
      '  - path: /gzb64',
      '    encoding: gz+b64',
      `    content: ${b64(gz(TEXT))}`,
      '  - path: /text',
      '    content: |',
      '      hello, wörld',
      '      second line',
    ].join('\n');
    const doc = parseDocument(text);
    expect(doc.errors).toEqual([]);
    expect(doc.warnings).toEqual([]);
    const files = (parse(text) as { write_files: { content: string | Uint8Array; encoding?: string }[] }).write_files;
    expect(files[0]?.content).toBeInstanceOf(Uint8Array);
    expect(files.map((file) => decodeContent(file.content, file.encoding))).toEqual([
      BINARY,
      Buffer.from(TEXT),
      Buffer.from(TEXT),
      Buffer.from(TEXT),
      Buffer.from(TEXT),
    ]);
  });

  it('decodes base64 held in !!binary bytes when the encoding also says base64', () => {
    expect(decodeContent(new Uint8Array(Buffer.from(b64(BINARY))), 'base64')).toEqual(BINARY);
  });

  it('names the encoding and the accepted ones when it does not know the encoding', () => {
    expect(() => decodeContent('x', 'base32')).toThrow(/unknown encoding "base32".*accepted encodings: "" \(text\), .*b64, base64, gz, gzip, gz\+b64/);
    expect(() => decodeContent('x', 'toString')).toThrow(/unknown encoding "toString"/);
  });

  it('refuses corrupt data, naming the encoding', () => {
    expect(() => decodeContent('not base64!', 'b64')).toThrow(/not valid base64 \(encoding "b64"\).*accepted encodings/);
    expect(() => decodeContent('abcde', 'base64')).toThrow(/not valid base64/);
    expect(() => decodeContent('ab=', 'base64')).toThrow(/not valid base64/);
    expect(() => decodeContent('a=bc', 'base64')).toThrow(/not valid base64/);
    expect(() => decodeContent('plain text', 'gzip')).toThrow(/not valid gzip data \(encoding "gzip"\).*accepted encodings/);
    expect(() => decodeContent(b64('plain text'), 'gz+b64')).toThrow(/not valid gzip data \(encoding "gz\+b64"\)/);
    expect(() => decodeContent(gz(TEXT).subarray(0, 20), 'gz')).toThrow(/not valid gzip data/);
  });
});

describe('parseOwner', () => {
  it('defaults to root', () => {
    expect(parseOwner(undefined)).toEqual({ user: 'root' });
    expect(parseOwner('')).toEqual({ user: 'root' });
  });

  it('reads user and user:group', () => {
    expect(parseOwner('rancher')).toEqual({ user: 'rancher' });
    expect(parseOwner('rancher:users')).toEqual({ user: 'rancher', group: 'users' });
    expect(parseOwner(' 1000:1000 ')).toEqual({ user: '1000', group: '1000' });
    expect(parseOwner('rancher:')).toEqual({ user: 'rancher' });
    expect(parseOwner(':adm')).toEqual({ user: 'root', group: 'adm' });
    expect(parseOwner('svc-a.b_c:host$')).toEqual({ user: 'svc-a.b_c', group: 'host$' });
  });

  it('refuses what chown would not take, naming the value', () => {
    for (const owner of ['a:b:c', 'a b', 'rancher:us ers', '-x', 'a/b']) {
      expect(() => parseOwner(owner)).toThrow(`invalid owner "${owner}"`);
    }
  });
});

describe('parsePermissions', () => {
  it('reads octal strings with or without a leading 0 or 0o', () => {
    expect(parsePermissions('0644')).toBe(0o644);
    expect(parsePermissions('644')).toBe(0o644);
    expect(parsePermissions('0o600')).toBe(0o600);
    expect(parsePermissions('0O755')).toBe(0o755);
    expect(parsePermissions('4755')).toBe(0o4755);
    expect(parsePermissions('00600')).toBe(0o600);
    expect(parsePermissions(' 0700 ')).toBe(0o700);
    expect(parsePermissions('0')).toBe(0);
  });

  it('reads the digits of a YAML number as octal', () => {
    const { a, b } = parse('a: 0644\nb: 755\n') as { a: number; b: number };
    expect([a, b]).toEqual([644, 755]);
    expect(parsePermissions(a)).toBe(0o644);
    expect(parsePermissions(b)).toBe(0o755);
  });

  it('uses the fallback when there are no permissions', () => {
    expect(parsePermissions(undefined)).toBe(0o644);
    expect(parsePermissions(null)).toBe(0o644);
    expect(parsePermissions('')).toBe(0o644);
    expect(parsePermissions(undefined, 0o600)).toBe(0o600);
  });

  it('refuses anything that is not an octal mode, naming the value', () => {
    for (const value of ['0888', '0x1ff', 'rw-r--r--', '77777', '-644', '6 44', 'u+x']) {
      expect(() => parsePermissions(value)).toThrow(`invalid permissions "${value}"`);
    }
    for (const value of [689, 1.5, -1, 77777]) {
      expect(() => parsePermissions(value)).toThrow(`invalid permissions ${value}`);
    }
  });
});
