/**
 * The configuration the installer writes to COS_OEM (ros.install.config_url
 * or --config): fetched or read, and checked against the node schema before
 * anything is written, so a typo never costs a wiped disk and an installed
 * system that nobody can log in to.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatProblem, parseConfigText } from '../../config/load.js';
import { UserError } from '../../errors.js';
import { requestHttp } from '../datasources/http.js';
import type { NodeSystem } from '../system.js';

export interface InstallConfigFile {
  /** Where it came from, as the user wrote it. */
  source: string;
  text: string;
  /** Unknown keys and a missing #cloud-config line: reported, not refused (the node reports them too). */
  warnings: string[];
}

/** Bounded: a config server that hangs must not hold an automatic install forever. */
const FETCH_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;

/** Load and check a config from an http(s) URL or a local path (relative to the system's root). */
export async function loadInstallConfig(system: NodeSystem, source: string): Promise<InstallConfigFile> {
  const text = /^https?:\/\//i.test(source) ? await fetchConfig(source) : await readLocalConfig(system, source);
  const loaded = parseConfigText(text, source);
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    throw new UserError(
      `the install configuration ${source} has ${errors.length} error${errors.length === 1 ? '' : 's'}:\n${errors.map((p) => `  - ${formatProblem(p).replace(/^error: /, '')}`).join('\n')}`,
      `fix it (\`ros config validate FILE\` checks a file) or give another with --config / ros.install.config_url; nothing was written`,
    );
  }
  const warnings = loaded.problems.map((p) => formatProblem(p));
  if (!/^#cloud-config[ \t]*\r?(\n|$)/.test(text)) warnings.push(`warning: ${source}: does not start with "#cloud-config" (ros reads it, cloud-init would not)`);
  return { source, text, warnings };
}

async function readLocalConfig(system: NodeSystem, source: string): Promise<string> {
  const path = source.startsWith('file://') ? source.slice('file://'.length) : source;
  try {
    return await readFile(join(system.root, path), 'utf8');
  } catch (error) {
    throw new UserError(`cannot read the install configuration ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'give an existing file or an http(s) URL with --config or ros.install.config_url');
  }
}

async function fetchConfig(url: string): Promise<string> {
  let current = url;
  for (let redirects = 0; redirects <= MAX_REDIRECTS; redirects++) {
    let response;
    try {
      response = await requestHttp(current, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    } catch (error) {
      throw new UserError(`cannot fetch the install configuration ${url}: ${(error as Error).message}`, 'check the URL and that the network is up (the installer waits for network-online.target)');
    }
    const location = response.headers.location;
    if (response.status >= 300 && response.status < 400 && location) {
      current = new URL(location, current).toString();
      continue;
    }
    if (response.status !== 200) throw new UserError(`cannot fetch the install configuration ${url}: HTTP ${response.status}`, 'check the URL');
    return response.body.toString('utf8');
  }
  throw new UserError(`cannot fetch the install configuration ${url}: more than ${MAX_REDIRECTS} redirects`);
}
