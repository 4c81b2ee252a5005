import { createServer, type Server } from 'node:http';
import type { Phase } from '../config/types.js';
import { applyPhase, PHASES } from './phases.js';
import type { NodeSystem } from './system.js';

/** Idle this long, the server ends; the socket starts it again for the next request. */
const IDLE_MS = 120_000;

/**
 * The configuration phases served over HTTP on the Unix socket systemd passes
 * in (ros-phases.socket): `GET /phase/<phase>` applies that phase and streams
 * its log and its commands' output back to the unit that asked
 * (/usr/libexec/ros/apply-phase). Why: one Node.js start then serves the
 * boot's three phases instead of one each, and under emulation a start costs
 * seconds, two of them on the way to the login prompt.
 *
 * The response ends normally only when the phase applied without errors; it
 * is cut short otherwise, which the client turns into the unit's failure.
 * Phases run one at a time, in the order asked. The server stops listening
 * after the runtime phase (the boot's last) or when idle. `systemFor` gives
 * the system a phase applies to, its output going to the response.
 */
export function createPhaseServer(systemFor: (output: (text: string) => void) => NodeSystem): Server {
  let queue = Promise.resolve();
  const server = createServer((request, response) => {
    clearTimeout(idle);
    const phase = /^\/phase\/([a-z]+)$/.exec(request.url ?? '')?.[1] as Phase | undefined;
    if (request.method !== 'GET' || !phase || !PHASES.includes(phase)) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`ros: no such phase: ${request.method} ${request.url}; ask for GET /phase/${PHASES.join('|')}\n`);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    response.flushHeaders();
    const output = (text: string) => void (response.destroyed || response.write(text));
    queue = queue.then(async () => {
      let ok = false;
      try {
        ({ ok } = await applyPhase(systemFor(output), phase));
      } catch (error) {
        output(`ros: error: ${phase}: ${(error as Error).message}\n`);
      }
      // Cut short: the socket ends after the log without HTTP's last chunk (destroy() would drop the log).
      if (ok) response.end();
      else response.socket?.end();
      if (phase === 'runtime') server.close();
      else idle = setTimeout(() => server.close(), IDLE_MS);
    });
  });
  let idle = setTimeout(() => server.close(), IDLE_MS);
  return server;
}
