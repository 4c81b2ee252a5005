import { request } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPhaseServer } from '../../../src/node/phase-server.js';
import { scratchDirs } from '../../helpers/scratch.js';
import { createRecordingSystem } from './install-root.js';

const scratch = scratchDirs();
let root: string;
let socket: string;
let server: Server;
let runs: string[][];

/** The recording system, its log lines and its commands' output going where the server says. */
function startServer(): void {
  runs = [];
  server = createPhaseServer((output) => {
    const system = createRecordingSystem(root, (file, args) => {
      runs.push([file, ...args]);
      if (args.includes('echo from init_cmd')) output('from init_cmd\n');
      return undefined;
    });
    return { ...system, log: (line) => output(`${line}\n`) };
  });
  server.listen(socket);
}

/** GET a path on the socket: the status, the body as far as it came, and whether the response ended normally. */
function get(path: string): Promise<{ status: number; body: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode!, body, complete: response.complete }));
      response.on('aborted', () => resolve({ status: response.statusCode!, body, complete: false }));
      response.on('error', () => resolve({ status: response.statusCode!, body, complete: false }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeEach(() => {
  root = scratch('ros-phase-server-');
  socket = join(scratch('ros-phase-socket-'), 'phases.sock');
  mkdirSync(join(root, 'oem'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  writeFileSync(join(root, 'oem/cloud-config.yaml'), '#cloud-config\nwrite_files: [{path: /etc/served, content: "x\\n"}]\ninit_cmd: ["echo from init_cmd"]\nboot_cmd: ["echo from boot_cmd"]\n');
  startServer();
});
afterEach(() => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));

describe('the phase server', () => {
  it('applies each phase asked for and streams its log and its commands\' output back; the response ends normally', async () => {
    const init = await get('/phase/init');
    expect(init).toMatchObject({ status: 200, complete: true });
    expect(init.body).toContain('ros: init_cmd[0]: running\nfrom init_cmd\n');
    expect(init.body).toMatch(/ros: init phase applied\n$/);
    const boot = await get('/phase/boot');
    expect(boot).toMatchObject({ status: 200, complete: true });
    expect(boot.body).toMatch(/ros: boot phase applied\n$/);
    expect(runs.map((run) => run.at(-1))).toEqual(['echo from init_cmd', 'echo from boot_cmd']);
  });

  it('cuts the response short when the phase had errors, after streaming them', async () => {
    writeFileSync(join(root, 'oem/99-broken.yaml'), 'hostname: [unclosed\n');
    const init = await get('/phase/init');
    expect(init.complete).toBe(false);
    expect(init.body).toMatch(/ros: error: init: \S+\/oem\/99-broken\.yaml: not valid YAML/);
    expect(init.body).toContain('ros: init phase finished with errors');
  });

  it('runs phases asked for at once one after the other, in order', async () => {
    const [init, boot] = await Promise.all([get('/phase/init'), get('/phase/boot')]);
    expect([init.complete, boot.complete]).toEqual([true, true]);
    expect(runs.map((run) => run.at(-1))).toEqual(['echo from init_cmd', 'echo from boot_cmd']);
  });

  it('answers 404 naming the phases for anything else, and applies nothing', async () => {
    const answer = await get('/phase/shutdown');
    expect(answer.status).toBe(404);
    expect(answer.body).toBe('ros: no such phase: GET /phase/shutdown; ask for GET /phase/init|boot|runtime\n');
    expect(runs).toEqual([]);
  });

  it('stops listening after the runtime phase, the boot\'s last', async () => {
    expect((await get('/phase/runtime')).complete).toBe(true);
    expect(server.listening).toBe(false);
    await expect(get('/phase/init')).rejects.toThrow(/ECONNREFUSED|ENOENT|EPIPE/);
  });
});
