// Bundle the node's tool `ros` into one CommonJS file for the Node.js the ros
// layer ships (tools/node-runtime.json), into the ros layer's build context. Under
// emulation every millisecond of start-up is ~40 on the node, and ros starts
// at every boot: the schema's validator is generated here instead of
// compiled at each start (src/config/validator.ts is swapped for it).
import { build } from 'esbuild';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { chmod, copyFile, mkdir, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';

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

// The upgrade code (registry client, verifier) is a file of its own, loaded by
// `ros upgrade` only: in the main file it would double what every start parses.
const upgradeOut = join(dirname(out), 'ros-upgrade.cjs');
const separateUpgrade = {
  name: 'separate-upgrade',
  setup(pluginBuild) {
    // From cli.ts (`ros upgrade`) and from the installer (`ros.install.image`): both load the one file beside the main one.
    pluginBuild.onResolve({ filter: /^\.\.?\/upgrade\/index\.js$/ }, () => ({ path: './ros-upgrade.cjs', external: true }));
  },
};

// dynamic-import off: the upgrade file is loaded with require(), which the launcher's vm.Script can do (import() there needs a flag).
const common = { bundle: true, platform: 'node', target: 'node24', format: 'cjs', minify: true, legalComments: 'none', logLevel: 'warning', supported: { 'dynamic-import': false }, plugins: [precompiledValidator] };
// `ros` itself is a small launcher (src/node/launcher.ts) that compiles the tool with the image's code cache.
const mainOut = join(dirname(out), 'ros-main.cjs');
await mkdir(dirname(out), { recursive: true });
// Written beside the targets and renamed: a failed bundle never leaves half a file in the context.
await build({ ...common, entryPoints: ['src/node/upgrade/index.ts'], outfile: `${upgradeOut}.tmp` });
await build({
  ...common,
  entryPoints: ['src/node/cli.ts'],
  outfile: `${mainOut}.tmp`,
  define: { ROS_VERSION: JSON.stringify(version) },
  plugins: [precompiledValidator, separateUpgrade],
});
await build({ ...common, entryPoints: ['src/node/launcher.ts'], outfile: `${out}.tmp`, banner: { js: '#!/usr/lib/ros/node' } });
await chmod(`${out}.tmp`, 0o755);
// The node configuration reference, where `ros config --help` says it is.
const referenceOut = join(dirname(out), 'configuration.md');
await copyFile('docs/configuration.md', `${referenceOut}.tmp`);
for (const file of [upgradeOut, mainOut, referenceOut, out]) await rename(`${file}.tmp`, file);
