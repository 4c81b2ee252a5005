import { execa } from 'execa';
import type Docker from 'dockerode';
import { UserError, StepError } from '../errors.js';
import type { BootstrapSpec } from '../spec/types.js';
import { findImage, splitRef } from './engine.js';
import { createWriteStream } from 'node:fs';
import { lastLines } from '../progress/tail.js';
import { registerCleanup } from '../cleanup.js';
import { readFile } from 'node:fs/promises';

export type BaseOrigin = 'present' | 'pulled' | 'bootstrapped';

/** mmdebstrap argv: a tar of a minimal Debian root on stdout. */
export function buildMmdebstrapArgs(spec: BootstrapSpec): string[] {
  const args = [`--variant=${spec.variant ?? 'minbase'}`, '--format=tar'];
  if (spec.include?.length) args.push(`--include=${spec.include.join(',')}`);
  args.push(spec.suite, '-');
  if (spec.mirror) args.push(spec.mirror);
  return args;
}

/**
 * Make the base image available: use it if the engine has it, pull it if a
 * registry answers, otherwise create it from the distribution mirror. The last
 * path is what air-gapped and mirror-only machines depend on.
 */
export async function ensureBaseImage(
  docker: Docker,
  base: { image: string; bootstrap?: BootstrapSpec },
  logPath: string,
  /** An http_proxy for mmdebstrap's downloads (the package cache), asked for only when a bootstrap runs; only the environment, never the image, sees it. */
  httpProxy: () => Promise<string | undefined> = async () => undefined,
): Promise<{ id: string; origin: BaseOrigin }> {
  const present = await findImage(docker, base.image);
  if (present) return { id: present, origin: 'present' };

  const pullError = await tryPull(docker, base.image);
  const pulled = await findImage(docker, base.image);
  if (pulled) return { id: pulled, origin: 'pulled' };

  if (!base.bootstrap) {
    throw new UserError(
      `base image ${base.image} is not in the engine and could not be pulled (${pullError}); this profile has no bootstrap recipe`,
      `load it first (docker load / docker pull on a connected machine), or add base.bootstrap to the profile in os.yaml`,
    );
  }
  await bootstrapImage(docker, base.image, base.bootstrap, logPath, await httpProxy());
  const created = await findImage(docker, base.image);
  if (!created) throw new StepError('base', `bootstrap finished but the engine has no ${base.image}`, logPath);
  return { id: created, origin: 'bootstrapped' };
}

async function tryPull(docker: Docker, ref: string, timeoutMs = 60_000): Promise<string> {
  try {
    const stream = await docker.pull(ref);
    await Promise.race([
      new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
      ),
      new Promise((_, reject) => setTimeout(() => reject(new Error('pull timed out')), timeoutMs).unref()),
    ]);
    return '';
  } catch (error) {
    return (error as Error).message.split('\n')[0] ?? 'pull failed';
  }
}

async function bootstrapImage(docker: Docker, ref: string, spec: BootstrapSpec, logPath: string, httpProxy?: string): Promise<void> {
  const args = buildMmdebstrapArgs(spec);
  const log = createWriteStream(logPath, { flags: 'a' });
  log.write(`$ mmdebstrap ${args.join(' ')} | docker import - ${ref}\n`);
  const child = execa('mmdebstrap', args, { stdout: 'pipe', stderr: 'pipe', reject: false, buffer: { stdout: false }, env: httpProxy ? { http_proxy: httpProxy } : {} });
  child.stderr?.pipe(log, { end: false });
  const { repo, tag } = splitRef(ref);
  // A truncated tar still imports: on failure or Ctrl-C the half image must not stay to be taken for the base next time.
  const removePartial = () => docker.getImage(ref).remove({ force: true }).catch(() => undefined);
  const unregister = registerCleanup(removePartial);
  // Imported images have no command; a shell makes `docker run IMAGE` behave as users expect.
  const imported = docker
    .importImage(child.stdout as unknown as NodeJS.ReadableStream, { repo, tag, changes: ['CMD ["/bin/bash"]'] } as object)
    .then((stream) => new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (e: Error | null) => (e ? reject(e) : resolve()))));
  // reject: false, so the command's promise always resolves; the import may reject.
  const [exec, importResult] = await Promise.all([child, imported.then(() => undefined, (error: Error) => error)]);
  await new Promise((resolve) => log.end(resolve));
  unregister();
  if (exec.failed || importResult) await removePartial();
  if ((exec as { code?: string }).code === 'ENOENT') {
    throw new UserError(
      `base image ${ref} must be bootstrapped, but mmdebstrap is not installed`,
      'apt-get install mmdebstrap (tools/setup-host.sh does this)',
    );
  }
  if (exec.failed) {
    const output = await readFile(logPath, 'utf8').catch(() => '');
    throw new StepError('base', `mmdebstrap failed with exit code ${exec.exitCode}\n${lastLines(output, 15)}`, logPath);
  }
  if (importResult) throw new StepError('base', `docker import failed: ${importResult.message}`, logPath);
}
