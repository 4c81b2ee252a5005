// Bundle the node's tool `ros` into one CommonJS file for the distribution's
// Node.js (Debian 12 ships 18), into the ros layer's build context. Under
// emulation every millisecond of start-up is ~40 on the node, and ros runs
// three times per boot: the schema's validator is generated here instead of
// compiled at each start (src/config/validator.ts is swapped for it).
import { build } from 'esbuild';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { chmod, mkdir, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

const out = process.argv[2] ?? 'images/ros/files/usr/lib/ros/ros.cjs';
const { version } = JSON.parse(await readFile('package.json', 'utf8'));
const schema = JSON.parse(await readFile('src/config/node-config.schema.json', 'utf8'));
// The same options as src/config/validator.ts: one validator, whether compiled now or at run time.
const validatorSource = await readFile('src/config/validator.ts', 'utf8');
const options = Function(`return ${/VALIDATOR_OPTIONS = (\{[^}]*\})/.exec(validatorSource)[1]}`)();
const ajv = new Ajv({ ...options, code: { source: true, esm: true } });
const precompiled = `${standaloneCode(ajv, ajv.compile(schema))}\nexport function compileValidator() { return validate; }\n`;

const precompiledValidator = {
  name: 'precompiled-validator',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /\/validator\.js$/ }, (args) => (args.importer.includes('/src/config/') ? { path: 'validator', namespace: 'precompiled' } : undefined));
    pluginBuild.onLoad({ filter: /.*/, namespace: 'precompiled' }, () => ({ contents: precompiled, loader: 'js', resolveDir: process.cwd() }));
  },
};

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
  plugins: [precompiledValidator],
  logLevel: 'warning',
});
await chmod(`${out}.tmp`, 0o755);
await rename(`${out}.tmp`, out);
