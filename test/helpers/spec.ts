import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { repoRoot } from './cli.js';

interface SpecFile {
  profiles: Record<string, { layers: Array<{ name: string; context: string }> }>;
  overlays: string[];
  boot: { cmdline: string };
}

/**
 * The default spec written to `dir` as `<name>.yaml`, every path made
 * absolute, with more layers (each a Dockerfile FROM the OS image running one
 * command, after copying in the files given for it: image path -> host file)
 * and more kernel arguments when asked: what a user's own spec does.
 */
export function writeTestSpec(dir: string, name: string, changes: { layers?: Record<string, string>; files?: Record<string, Record<string, string>>; cmdline?: string } = {}): string {
  const spec = parse(readFileSync(join(repoRoot, 'os.yaml'), 'utf8')) as SpecFile;
  const debian = spec.profiles.debian!;
  debian.layers = debian.layers.map((layer) => ({ ...layer, context: resolve(repoRoot, layer.context) }));
  for (const [layer, run] of Object.entries(changes.layers ?? {})) {
    const context = join(dir, `layer-${layer}`);
    mkdirSync(context, { recursive: true });
    const files = Object.entries(changes.files?.[layer] ?? {});
    for (const [target, source] of files) {
      mkdirSync(dirname(join(context, 'files', target)), { recursive: true });
      copyFileSync(source, join(context, 'files', target));
    }
    writeFileSync(join(context, 'Dockerfile'), `ARG PARENT_IMAGE\nFROM \${PARENT_IMAGE}\n${files.length > 0 ? 'COPY files/ /\n' : ''}RUN ${run}\n`);
    debian.layers.push({ name: layer, context });
  }
  spec.overlays = spec.overlays.map((overlay) => resolve(repoRoot, overlay));
  if (changes.cmdline) spec.boot.cmdline = `${spec.boot.cmdline} ${changes.cmdline}`;
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, stringify(spec));
  return path;
}
