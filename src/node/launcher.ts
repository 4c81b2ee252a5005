/**
 * `ros` as a node starts it: the bundled tool (ros-main.cjs), compiled with
 * the V8 code cache the image build wrote beside it. Node.js brings a code
 * cache for its own modules, not for ours, and under emulation compiling the
 * bundle at every start costs a good part of a second. A cache V8 refuses
 * (another Node.js, other flags) only costs the compile; a missing one
 * likewise. The cache made on the build host is accepted on a machine with
 * another CPU (a user-land startup snapshot, node --build-snapshot, was not:
 * it failed to load under qemu's default CPU model).
 *
 * The image build runs ros once with ROS_WRITE_CODE_CACHE=1: the cache then
 * holds every function that run compiled, not only the top level.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

const main = join(__dirname, 'ros-main.cjs');
const cachePath = `${main}.cache`;

function readCache(): Buffer | undefined {
  try {
    return readFileSync(cachePath);
  } catch {
    return undefined;
  }
}

const script = new Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(main, 'utf8')}\n})`, {
  filename: main,
  cachedData: readCache(),
});
if (process.env.ROS_WRITE_CODE_CACHE === '1') process.on('exit', () => writeFileSync(cachePath, script.createCachedData()));
const module_ = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(module_.exports, createRequire(main), module_, main, __dirname);
