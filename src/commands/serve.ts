import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { NETBOOT_FILES } from '../artifacts/netboot-files.js';
import { UserError } from '../errors.js';
import { formatBytes } from '../format-bytes.js';
import { createStaticServer } from '../serve/static-server.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve a directory (a netboot directory from ros-build netboot) over HTTP, logging each request')
    .argument('[dir]', 'the directory to serve', 'build/netboot')
    .option('--port <port>', 'TCP port', '8080')
    .option('--address <address>', 'address to listen on', '0.0.0.0')
    .action(async (dir: string, flags: { port: string; address: string }) => {
      const root = resolve(dir);
      if (!(await stat(root).catch(() => undefined))?.isDirectory()) {
        throw new UserError(`${dir} is not a directory`, 'build one with `ros-build netboot --url http://HOST:PORT` (default output: build/netboot)');
      }
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`--port ${flags.port} is not a TCP port`, 'give a number from 1 to 65535');
      const server = await createStaticServer(root, (r) => {
        process.stdout.write(`${new Date().toISOString()} ${r.remote} ${r.method} ${r.path} ${r.status} ${formatBytes(r.bytes)}\n`);
      });
      await new Promise<void>((done, fail) => {
        server.once('error', (error: NodeJS.ErrnoException) =>
          fail(error.code === 'EADDRINUSE' ? new UserError(`port ${port} on ${flags.address} is in use`, 'stop what listens there or pick another --port') : error),
        );
        server.listen(port, flags.address, done);
      });
      const base = `http://${displayHost(flags.address)}:${port}`;
      process.stdout.write(`serving ${root} at ${base}/\n`);
      const script = await readFile(join(root, NETBOOT_FILES.script.name), 'utf8').catch(() => undefined);
      if (script) {
        process.stdout.write(`iPXE:    chain ${base}/${NETBOOT_FILES.script.name}\n`);
        process.stdout.write(`dnsmasq: dhcp-boot=tag:ipxe,${base}/${NETBOOT_FILES.script.name}\n`);
        const fetches = /^kernel (\S+)\//m.exec(script)?.[1];
        if (fetches && !fetches.startsWith(base)) process.stdout.write(`note: ${NETBOOT_FILES.script.name} fetches from ${fetches}/: the machines must reach this server there\n`);
      }
      // The listening server keeps the process alive until Ctrl-C (cleanup.ts ends it).
    });
}

/** The address to print: a wildcard listener is reached at the machine's first external IPv4 address. */
function displayHost(address: string): string {
  if (address !== '0.0.0.0' && address !== '::') return address.includes(':') ? `[${address}]` : address;
  for (const list of Object.values(networkInterfaces())) {
    const external = list?.find((a) => a.family === 'IPv4' && !a.internal);
    if (external) return external.address;
  }
  return '127.0.0.1';
}
