import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticServer, parseRange, type RequestLog } from '../../../src/serve/static-server.js';

describe('parseRange', () => {
  it('reads one range of the three forms, and leaves several to a whole answer', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual([0, 9]);
    expect(parseRange('bytes=90-', 100)).toEqual([90, 99]);
    expect(parseRange('bytes=-10', 100)).toEqual([90, 99]);
    expect(parseRange('bytes=95-200', 100)).toEqual([95, 99]);
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
  });
});

describe('createStaticServer', () => {
  let root: string;
  let base: string;
  let close: () => void;
  const log: RequestLog[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'serve-test-'));
    mkdirSync(join(root, 'dir'));
    writeFileSync(join(root, 'dir', 'file.bin'), Buffer.from('0123456789'));
    writeFileSync(join(root, 'boot.ipxe'), '#!ipxe\n');
    writeFileSync(join(tmpdir(), 'serve-test-outside'), 'secret');
    const server = await createStaticServer(root, (entry) => log.push(entry));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => {
    close();
    rmSync(root, { recursive: true, force: true });
    rmSync(join(tmpdir(), 'serve-test-outside'), { force: true });
  });

  it('serves a file whole and by range, and logs each request with the bytes sent', async () => {
    const whole = await fetch(`${base}/dir/file.bin`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(await whole.text()).toBe('0123456789');
    const part = await fetch(`${base}/dir/file.bin`, { headers: { Range: 'bytes=3-5' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 3-5/10');
    expect(await part.text()).toBe('345');
    expect((await fetch(`${base}/boot.ipxe`)).headers.get('content-type')).toMatch(/^text\/plain/);
    await new Promise((done) => setTimeout(done, 50));
    expect(log.filter((e) => e.path === '/dir/file.bin').map((e) => [e.method, e.status, e.bytes])).toEqual([['GET', 200, 10], ['GET', 206, 3]]);
  });

  it('answers HEAD without a body, and refuses other methods', async () => {
    const head = await fetch(`${base}/dir/file.bin`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('10');
    expect((await fetch(`${base}/dir/file.bin`, { method: 'PUT', body: 'x' })).status).toBe(405);
  });

  it('reaches nothing outside the directory and lists nothing', async () => {
    expect((await fetch(`${base}/../serve-test-outside`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/serve-test-outside`)).status).toBe(404);
    expect((await fetch(`${base}/dir/`)).status).toBe(404);
    expect((await fetch(`${base}/missing`)).status).toBe(404);
    expect((await fetch(`${base}/dir/file.bin`, { headers: { Range: 'bytes=20-' } })).status).toBe(416);
  });
});
