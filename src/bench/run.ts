/**
 * Benchmark: cold and warm time of every step, a rebuild with nothing
 * changed, a rebuild after touching one overlay file (to a bootable ISO), the
 * squashfs compressors, and both boots. Cold means a freshly bootstrapped base
 * image under a new name, so no layer can come from any cache.
 *
 *   make bench            (node dist/bench/run.js [--skip-boot] [--skip-release])
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { smokeBoot } from '../boot/smoke.js';
import { connectEngine } from '../docker/engine.js';
import { createBuildEnv } from '../plan/env.js';
import { packageProxyFor } from '../plan/package-proxy.js';
import { createDiskPlan, createIsoPlan } from '../plan/create.js';
import { resolveDiskOptions } from '../plan/steps/disk.js';
import { formatPhases } from '../boot/phases.js';
import { DISK_FORMAT_NAMES } from '../artifacts/formats/index.js';
import { execa } from 'execa';
import { probePlan, runPlan, type StepTiming } from '../plan/runner.js';
import { outputOf } from '../plan/step.js';
import { resolveIsoOptions, type ArtifactOutput } from '../plan/steps/iso.js';
import type { RootfsArtifacts } from '../artifacts/squashfs.js';
import { createPlainReporter } from '../progress/reporter.js';
import { loadSpec } from '../spec/load.js';
import type { CompressionSpec, SpecOverrides } from '../spec/types.js';
import { installSignalHandlers, registerCleanup } from '../cleanup.js';
import { sweepCache } from '../cache/sweep.js';
import { formatBytes } from '../format-bytes.js';
import { measureBytes as measureDir } from '../cache/inventory.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const args = new Set(process.argv.slice(2));
const quiet = createPlainReporter(process.stderr);

/** Every cache key the benchmark's builds used: what it removes from the engine at the end. */
const builtKeys = new Set<string>();

interface Workspace {
  dir: string;
  specPath: string;
  overlayFile: string;
  baseDockerfile: string;
  baseImage: string;
}

/** A copy of os.yaml whose base image has a fresh name and whose overlay is a scratch copy we may touch. */
function prepareWorkspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'ros-bench-'));
  const document = parseDocument(readFileSync(join(repoRoot, 'os.yaml'), 'utf8'));
  const spec = document.toJS();
  const baseImage = `ros-build-bench/debian:${Date.now()}`;
  spec.profiles.debian.base.image = baseImage;
  for (const profile of Object.values(spec.profiles) as Array<{ layers: Array<{ context: string }> }>) {
    for (const layer of profile.layers) layer.context = join(repoRoot, layer.context);
  }
  // A copy of the base layer whose package list the benchmark may change.
  cpSync(join(repoRoot, 'images', 'debian', 'base'), join(dir, 'base'), { recursive: true });
  spec.profiles.debian.layers[0].context = join(dir, 'base');
  cpSync(join(repoRoot, 'overlays', 'rootfs'), join(dir, 'overlay'), { recursive: true });
  spec.overlays = [join(dir, 'overlay')];
  const specPath = join(dir, 'os.yaml');
  writeFileSync(specPath, JSON.stringify(spec));
  return { dir, specPath, overlayFile: join(dir, 'overlay', 'etc', 'motd'), baseDockerfile: join(dir, 'base', 'Dockerfile'), baseImage };
}

async function buildIso(specPath: string, overrides: SpecOverrides) {
  const env = createBuildEnv(await connectEngine(), loadSpec(specPath, overrides));
  const started = performance.now();
  const { state, timings } = await runPlan(createIsoPlan(env, resolveIsoOptions(env)), quiet);
  for (const key of state.keys.values()) builtKeys.add(key);
  return {
    seconds: (performance.now() - started) / 1000,
    timings,
    iso: outputOf<ArtifactOutput>(state, 'iso'),
    rootfs: outputOf<RootfsArtifacts>(state, 'rootfs'),
  };
}

async function buildDisk(specPath: string, overrides: SpecOverrides, format: string) {
  const env = createBuildEnv(await connectEngine(), loadSpec(specPath, overrides));
  const started = performance.now();
  const { state, timings } = await runPlan(createDiskPlan(env, resolveDiskOptions(env, { format })), quiet);
  for (const key of state.keys.values()) builtKeys.add(key);
  return { seconds: (performance.now() - started) / 1000, step: timings.find((t) => t.step === 'disk')!, disks: outputOf<ArtifactOutput[]>(state, 'disk') };
}

/** `make iso` with nothing to do: the compile check, setup's checks and a fully cached plan, as a user runs it. */
async function timeNoOpMake(specPath: string, overrides: SpecOverrides): Promise<number> {
  const make = ['-s', '--no-print-directory', 'iso', `SPEC=${specPath}`, `REPO=${overrides.repository}`, `TAG=${overrides.tag}`, `FLAGS=--output-dir ${overrides.outputDir}`];
  await execa('make', make, { cwd: repoRoot, env: { CI: '1' } });
  const started = performance.now();
  await execa('make', make, { cwd: repoRoot, env: { CI: '1' } });
  return (performance.now() - started) / 1000;
}

const seconds = (value: number | undefined) => (value === undefined ? '-' : `${value.toFixed(1)} s`);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

function printTable(cold: StepTiming[], warm: StepTiming[]): void {
  console.log(`\n${'step'.padEnd(18)}${'cold'.padStart(10)}${'warm'.padStart(10)}`);
  for (const row of cold) {
    const again = warm.find((w) => w.step === row.step);
    console.log(`${row.step.padEnd(18)}${seconds(row.seconds).padStart(10)}${seconds(again?.seconds).padStart(10)}`);
  }
}

/**
 * Remove what the benchmark made: its image, its layer images (by the keys
 * its builds used, plus those a probe finds when a build failed before
 * returning them), its fresh base image, its output and workspace
 * directories. Only these keys go: the user's own build cache stays.
 */
async function removeBenchLeftovers(workspace: Workspace, outputDir: string, overrides: SpecOverrides): Promise<void> {
  const docker = await connectEngine();
  const removeImage = (ref: string) =>
    docker
      .getImage(ref)
      .remove()
      .then(() => true)
      .catch(() => false);
  try {
    const env = createBuildEnv(docker, loadSpec(workspace.specPath, overrides));
    for (const { probe } of await probePlan(createIsoPlan(env, { outPath: join(outputDir, 'probe.iso') }))) if (probe.key) builtKeys.add(probe.key);
  } catch {
    // Nothing more to learn (the base image was never made): the keys collected so far are all there is.
  }
  await removeImage(`${overrides.repository}:${overrides.tag}`);
  const report = await sweepCache(docker, { cacheDir: join(outputDir, '.cache'), scope: { kind: 'only', keys: builtKeys }, protectedRefs: [], dryRun: false });
  // The fresh base has no parent: all its bytes go with it once no layer image sits on it.
  const baseBytes = (await docker.getImage(workspace.baseImage).inspect().catch(() => undefined))?.Size ?? 0;
  const baseRemoved = await removeImage(workspace.baseImage);
  const outputBytes = await measureDir(outputDir);
  rmSync(outputDir, { recursive: true, force: true });
  rmSync(workspace.dir, { recursive: true, force: true });
  console.log(
    `\ncleanup: ${report.images.length} layer images (${formatBytes(report.imageBytes)})${baseRemoved ? `, ${workspace.baseImage} (${formatBytes(baseBytes)})` : ''}, ${outputDir} (${formatBytes(outputBytes)}) and the workspace removed`,
  );
}

async function main(): Promise<void> {
  const workspace = prepareWorkspace();
  const outputDir = mkdtempSync(join(tmpdir(), 'ros-bench-out-'));
  const overrides: SpecOverrides = { repository: 'ros-build-bench/os', tag: 'bench', outputDir };
  console.log(`ros-build benchmark: ${workspace.specPath}, output ${outputDir}`);
  const cleanUp = () => removeBenchLeftovers(workspace, outputDir, overrides);
  const unregister = registerCleanup(cleanUp);
  try {
    await measure(workspace, overrides);
  } finally {
    unregister();
    // A failed cleanup must not hide why the benchmark failed; it names what is left instead.
    await cleanUp().catch((error: Error) =>
      console.error(`cleanup failed (${error.message}): remove ${outputDir}, ${workspace.dir}, ${overrides.repository}:${overrides.tag}, ${workspace.baseImage} and its ros-build/* layer images by hand`),
    );
  }
}

async function measure(workspace: Workspace, overrides: SpecOverrides): Promise<void> {
  const cold = await buildIso(workspace.specPath, overrides);
  const warm = await buildIso(workspace.specPath, overrides);
  printTable(cold.timings, warm.timings);
  console.log(`\ncold build to ISO:              ${seconds(cold.seconds)}`);
  console.log(`rebuild, nothing changed:       ${seconds(warm.seconds)}`);

  writeFileSync(workspace.overlayFile, `${readFileSync(workspace.overlayFile, 'utf8')}\nbenchmark ${Date.now()}\n`);
  const touched = await buildIso(workspace.specPath, overrides);
  const rebuilt = touched.timings.filter((t) => t.outcome === 'built').map((t) => `${t.step} ${seconds(t.seconds)}`);
  console.log(`rebuild after one overlay file: ${seconds(touched.seconds)} (${rebuilt.join(', ')})`);
  console.log(`ISO: ${mib(touched.iso.record.size)}, squashfs ${mib(statSync(touched.rootfs.squashfsPath).size)} (dev compression)`);

  console.log(`no-op make iso:                 ${seconds(await timeNoOpMake(workspace.specPath, overrides))}`);

  // One more package in the base layer: the rest come from the package cache, not the mirror.
  const env = createBuildEnv(await connectEngine(), loadSpec(workspace.specPath, overrides));
  const proxy = await packageProxyFor(env);
  const before = { hits: proxy?.hits ?? 0, misses: proxy?.misses ?? 0 };
  writeFileSync(workspace.baseDockerfile, readFileSync(workspace.baseDockerfile, 'utf8').replace(' less ', ' less file '));
  const repackaged = await buildIso(workspace.specPath, overrides);
  const base = repackaged.timings.find((t) => t.step === 'layer base');
  console.log(
    `rebuild after a package-list change: ${seconds(repackaged.seconds)} (layer base ${seconds(base?.seconds)}; ${proxy ? `${proxy.hits - before.hits} packages from the cache, ${proxy.misses - before.misses} downloaded` : 'no package cache (a remote engine, no bridge address, or http_proxy set)'})`,
  );

  // Disks from the cached rootfs: each format alone (the shared raw base included), then all at once, then again with nothing changed.
  console.log(`\n${'disk format'.padEnd(18)}${'cold'.padStart(10)}${'size'.padStart(12)}`);
  for (const format of DISK_FORMAT_NAMES) {
    const run = await buildDisk(workspace.specPath, { ...overrides, outputDir: join(overrides.outputDir!, `disk-${format}`) }, format);
    console.log(`${format.padEnd(18)}${seconds(run.step.seconds).padStart(10)}${mib(run.disks[0]!.record.size).padStart(12)}`);
  }
  const all = await buildDisk(workspace.specPath, overrides, DISK_FORMAT_NAMES.join(','));
  const allWarm = await buildDisk(workspace.specPath, overrides, DISK_FORMAT_NAMES.join(','));
  console.log(`all six formats: ${seconds(all.step.seconds)} cold, ${seconds(allWarm.seconds)} warm (whole plan, nothing changed)`);
  const raw = all.disks.find((d) => d.format === 'raw')!;

  if (!args.has('--skip-release')) {
    const releaseChoices: CompressionSpec[] = [{ compression: 'xz' }, { compression: 'lz4' }];
    for (const compression of releaseChoices) {
      const run = await buildIso(workspace.specPath, { ...overrides, compression: compression.compression, compressionLevel: compression.level });
      const step = run.timings.find((t) => t.step === 'rootfs');
      const label = `${compression.compression}${compression.level ? `-${compression.level}` : ''}`;
      console.log(`squashfs ${label.padEnd(8)} ${seconds(step?.seconds).padStart(8)}  ${mib(statSync(run.rootfs.squashfsPath).size)}`);
    }
  }

  if (!args.has('--skip-boot')) {
    for (const [name, artifact] of [['iso', touched.iso.path], ['raw disk', raw.path]] as const) {
      for (const firmware of ['bios', 'uefi'] as const) {
        const result = await smokeBoot({ artifact, firmware, snapshot: true, timeoutSeconds: 600 });
        console.log(`boot ${name} ${firmware}: ${result.ok ? 'login prompt' : 'FAILED'} after ${seconds(result.seconds)} (${result.accelerator}; ${formatPhases(result.phases)})`);
      }
    }
  }
}

installSignalHandlers();
await main();
