// Bundle the node's tool `ros` into one CommonJS file for the distribution's
// Node.js (Debian 12 ships 18), into the ros layer's build context.
import { build } from 'esbuild';
import { chmod, mkdir, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

const out = process.argv[2] ?? 'images/ros/files/usr/lib/ros/ros.cjs';
const { version } = JSON.parse(await readFile('package.json', 'utf8'));
await mkdir(dirname(out), { recursive: true });
// Written beside the target and renamed: a failed bundle never leaves half a file in the context.
await build({
  entryPoints: ['src/node/cli.ts'],
  outfile: `${out}.tmp`,
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  define: { ROS_VERSION: JSON.stringify(version) },
  logLevel: 'warning',
});
await chmod(`${out}.tmp`, 0o755);
await rename(`${out}.tmp`, out);
