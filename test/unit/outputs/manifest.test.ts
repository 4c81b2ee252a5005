import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CHECKSUM_SIGNATURE_FILES,
  CHECKSUMS_FILE,
  formatChecksums,
  readManifest,
  updateManifest,
  writeManifest,
  type Manifest,
} from '../../../src/outputs/manifest.js';

const IMAGE = { ref: '127.0.0.1:5000/rancher/os2:v1', id: `sha256:${'1'.repeat(64)}` };
const OTHER_ID = `sha256:${'2'.repeat(64)}`;
const IMAGE_PUSH = { reference: '127.0.0.1:5000/rancher/os2:v1', digest: `sha256:${'a'.repeat(64)}` };
const ISO_PUSH = { reference: '127.0.0.1:5000/rancher/os2:v1-iso', digest: `sha256:${'b'.repeat(64)}` };

let dir: string;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Write an output file and describe it as the build does (absolute path). */
async function output(name: string, content: string, format = 'iso') {
  const path = join(dir, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  return { path, format, size: Buffer.byteLength(content), sha256: sha256(content) };
}

/** Record pushes the way `push` does: rewrite the manifest with the push records. */
async function recordPushes(image = IMAGE_PUSH, artifacts: Record<string, typeof ISO_PUSH> = {}): Promise<void> {
  const manifest = await readManifest(dir);
  await writeManifest(dir, {
    ...manifest,
    image: { ...manifest.image!, pushed: image },
    artifacts: manifest.artifacts.map((a) => (artifacts[a.path] ? { ...a, pushed: artifacts[a.path] } : a)),
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ros-manifest-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('formatChecksums', () => {
  it('writes "<hex>  <path>" lines, as sha256sum does', () => {
    expect(formatChecksums([{ path: 'a.iso', sha256: 'ab'.repeat(32) }, { path: 'media/b.raw', sha256: 'cd'.repeat(32) }])).toBe(
      `${'ab'.repeat(32)}  a.iso\n${'cd'.repeat(32)}  media/b.raw\n`,
    );
  });

  it('is empty for no artifacts', () => {
    expect(formatChecksums([])).toBe('');
  });

  it('is verified by the real `sha256sum -c` in the output directory', async () => {
    const files = [await output('os.iso', 'iso bytes\n'), await output('media/disk.raw', 'raw bytes'), await output('os.qcow2', '', 'qcow2')];
    await writeFile(join(dir, 'SUMS'), formatChecksums(files.map((f) => ({ path: f.path.slice(dir.length + 1), sha256: f.sha256 }))));
    const ok = await execa('sha256sum', ['-c', '--strict', 'SUMS'], { cwd: dir, reject: false });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout.split('\n').sort()).toEqual(['media/disk.raw: OK', 'os.iso: OK', 'os.qcow2: OK']);

    await writeFile(join(dir, 'os.iso'), 'tampered');
    const bad = await execa('sha256sum', ['-c', 'SUMS'], { cwd: dir, reject: false });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stdout).toContain('os.iso: FAILED');
  });
});

describe('updateManifest', () => {
  it('records the image and the artifacts with paths relative to the output directory', async () => {
    const iso = await output('os.iso', 'iso');
    const raw = await output('media/disk.raw', 'raw', 'raw');
    const path = await updateManifest(dir, IMAGE, [iso, raw]);
    expect(path).toBe(join(dir, 'manifest.json'));
    const manifest = JSON.parse(await readFile(path, 'utf8')) as Manifest;
    expect(manifest).toEqual({
      image: IMAGE,
      artifacts: [
        { path: 'media/disk.raw', format: 'raw', size: 3, sha256: sha256('raw'), image: IMAGE.id },
        { path: 'os.iso', format: 'iso', size: 3, sha256: sha256('iso'), image: IMAGE.id },
      ],
    });
  });

  it('writes a SHA256SUMS that `sha256sum -c` accepts', async () => {
    await updateManifest(dir, IMAGE, [await output('os.iso', 'iso'), await output('media/disk.raw', 'raw', 'raw')]);
    const result = await execa('sha256sum', ['-c', '--strict', CHECKSUMS_FILE], { cwd: dir, reject: false });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('os.iso: OK');
    expect(result.stdout).toContain('media/disk.raw: OK');
  });

  it('keeps the image\'s push record when the same image id and ref are rebuilt', async () => {
    const iso = await output('os.iso', 'iso');
    await updateManifest(dir, IMAGE, [iso]);
    await recordPushes();
    await updateManifest(dir, { ...IMAGE }, [iso]);
    expect((await readManifest(dir)).image).toEqual({ ...IMAGE, pushed: IMAGE_PUSH });
  });

  it('drops the image\'s push record when the image id changes', async () => {
    const iso = await output('os.iso', 'iso');
    await updateManifest(dir, IMAGE, [iso]);
    await recordPushes();
    await updateManifest(dir, { ...IMAGE, id: OTHER_ID }, [iso]);
    const image = (await readManifest(dir)).image!;
    expect(image).toEqual({ ref: IMAGE.ref, id: OTHER_ID });
    expect(image.pushed).toBeUndefined();
  });

  it('keeps the revision an unchanged image was built from, and takes the new one for a new image', async () => {
    await updateManifest(dir, { ...IMAGE, revision: 'aaa111' }, []);
    await updateManifest(dir, { ...IMAGE, revision: 'bbb222' }, []);
    expect((await readManifest(dir)).image?.revision).toBe('aaa111');
    await updateManifest(dir, { ...IMAGE, id: OTHER_ID, revision: 'bbb222' }, []);
    expect((await readManifest(dir)).image?.revision).toBe('bbb222');
  });

  it('drops the image\'s push record when the ref changes', async () => {
    await updateManifest(dir, IMAGE, []);
    await recordPushes();
    await updateManifest(dir, { ...IMAGE, ref: '127.0.0.1:5000/rancher/os2:v2' }, []);
    expect((await readManifest(dir)).image?.pushed).toBeUndefined();
  });

  it('keeps an artifact\'s push record while its bytes and image are unchanged', async () => {
    const iso = await output('os.iso', 'iso');
    await updateManifest(dir, IMAGE, [iso]);
    await recordPushes(IMAGE_PUSH, { 'os.iso': ISO_PUSH });
    await updateManifest(dir, IMAGE, [iso]);
    expect((await readManifest(dir)).artifacts[0]?.pushed).toEqual(ISO_PUSH);
  });

  it('drops an artifact\'s push record when its sha256 changes', async () => {
    await updateManifest(dir, IMAGE, [await output('os.iso', 'iso')]);
    await recordPushes(IMAGE_PUSH, { 'os.iso': ISO_PUSH });
    await updateManifest(dir, IMAGE, [await output('os.iso', 'new iso')]);
    const [artifact] = (await readManifest(dir)).artifacts;
    expect(artifact).toMatchObject({ path: 'os.iso', sha256: sha256('new iso') });
    expect(artifact?.pushed).toBeUndefined();
  });

  it('drops an artifact\'s push record when it was built from another image, even with the same bytes', async () => {
    const iso = await output('os.iso', 'iso');
    await updateManifest(dir, IMAGE, [iso]);
    await recordPushes(IMAGE_PUSH, { 'os.iso': ISO_PUSH });
    await updateManifest(dir, { ...IMAGE, id: OTHER_ID }, [iso]);
    const [artifact] = (await readManifest(dir)).artifacts;
    expect(artifact).toMatchObject({ path: 'os.iso', image: OTHER_ID });
    expect(artifact?.pushed).toBeUndefined();
  });

  it('keeps earlier artifacts whose files are still there and drops those whose files are gone', async () => {
    const iso = await output('os.iso', 'iso');
    const raw = await output('disk.raw', 'raw', 'raw');
    const qcow = await output('disk.qcow2', 'qcow', 'qcow2');
    await updateManifest(dir, IMAGE, [iso, raw, qcow]);
    await rm(raw.path);
    await updateManifest(dir, IMAGE, [await output('os.iso', 'iso 2')]);
    const manifest = await readManifest(dir);
    expect(manifest.artifacts.map((a) => a.path)).toEqual(['disk.qcow2', 'os.iso']);
    expect(manifest.artifacts.find((a) => a.path === 'os.iso')?.sha256).toBe(sha256('iso 2'));
    expect(await readFile(join(dir, CHECKSUMS_FILE), 'utf8')).not.toContain('disk.raw');
  });

  it('drops earlier artifacts of another image reference, even when their files are still there', async () => {
    await updateManifest(dir, IMAGE, [await output('v1.iso', 'v1 iso')]);
    await updateManifest(dir, { ...IMAGE, ref: '127.0.0.1:5000/rancher/os2:v2' }, [await output('v2.iso', 'v2 iso')]);
    const manifest = await readManifest(dir);
    expect(manifest.artifacts.map((a) => a.path)).toEqual(['v2.iso']);
    expect(await readFile(join(dir, CHECKSUMS_FILE), 'utf8')).toBe(`${sha256('v2 iso')}  v2.iso\n`);
  });
});

describe('SHA256SUMS signatures', () => {
  async function signSums(): Promise<void> {
    for (const name of CHECKSUM_SIGNATURE_FILES) await writeFile(join(dir, name), `signature of sums: ${name}`);
  }

  it('removes SHA256SUMS.sig/.pem/.sigstore.json when the sums change', async () => {
    await updateManifest(dir, IMAGE, [await output('os.iso', 'iso')]);
    await signSums();
    await updateManifest(dir, IMAGE, [await output('os.iso', 'rebuilt iso')]);
    expect(CHECKSUM_SIGNATURE_FILES).toEqual(['SHA256SUMS.sig', 'SHA256SUMS.pem', 'SHA256SUMS.sigstore.json']);
    for (const name of CHECKSUM_SIGNATURE_FILES) expect(existsSync(join(dir, name)), name).toBe(false);
    expect(await readFile(join(dir, CHECKSUMS_FILE), 'utf8')).toBe(`${sha256('rebuilt iso')}  os.iso\n`);
  });

  it('keeps them when the sums are the same (a rebuild with identical bytes, or recording a push)', async () => {
    const iso = await output('os.iso', 'iso');
    await updateManifest(dir, IMAGE, [iso]);
    await signSums();
    await recordPushes(IMAGE_PUSH, { 'os.iso': ISO_PUSH });
    await updateManifest(dir, { ...IMAGE, id: OTHER_ID }, [iso]);
    for (const name of CHECKSUM_SIGNATURE_FILES) {
      expect(await readFile(join(dir, name), 'utf8')).toBe(`signature of sums: ${name}`);
    }
  });

  it('removes them when an artifact is added', async () => {
    await updateManifest(dir, IMAGE, [await output('os.iso', 'iso')]);
    await signSums();
    await updateManifest(dir, IMAGE, [await output('disk.raw', 'raw', 'raw')]);
    for (const name of CHECKSUM_SIGNATURE_FILES) expect(existsSync(join(dir, name)), name).toBe(false);
  });
});

describe('readManifest', () => {
  it('is empty when there is no manifest.json', async () => {
    await expect(readManifest(dir)).resolves.toEqual({ artifacts: [] });
  });

  it('is empty when manifest.json is not JSON', async () => {
    await writeFile(join(dir, 'manifest.json'), '{ not json');
    await expect(readManifest(dir)).resolves.toEqual({ artifacts: [] });
  });

  it('reads back what writeManifest wrote', async () => {
    const manifest: Manifest = {
      image: { ...IMAGE, pushed: IMAGE_PUSH },
      artifacts: [{ path: 'os.iso', format: 'iso', size: 3, sha256: sha256('iso'), image: IMAGE.id, pushed: ISO_PUSH }],
    };
    await writeManifest(dir, manifest);
    await expect(readManifest(dir)).resolves.toEqual(manifest);
  });
});
