/**
 * A small HTTP server for a netboot directory: GET and HEAD of the files in
 * one directory tree, single byte ranges (iPXE and curl resume with them),
 * one log line per request. Nothing outside the directory is reachable, and
 * nothing is listed.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, sep } from 'node:path';

export interface RequestLog {
  method: string;
  path: string;
  status: number;
  /** Bytes of the body sent (a HEAD sends none). */
  bytes: number;
  remote: string;
}

const CONTENT_TYPES: Record<string, string> = { '.ipxe': 'text/plain; charset=utf-8', '.yaml': 'text/plain; charset=utf-8', '.json': 'application/json' };

/** Serve `dir`; `log` hears of every request once its response ended. */
export async function createStaticServer(dir: string, log: (entry: RequestLog) => void): Promise<Server> {
  const root = await realpath(dir);
  return createServer((request, response) => {
    const entry: RequestLog = { method: request.method ?? '?', path: request.url ?? '?', status: 0, bytes: 0, remote: request.socket.remoteAddress ?? '?' };
    response.on('close', () => log({ ...entry, status: response.statusCode }));
    handle(root, request, response, entry).catch(() => {
      if (!response.headersSent) respond(response, 500, 'internal error\n');
      else response.destroy();
    });
  });
}

async function handle(root: string, request: IncomingMessage, response: ServerResponse, entry: RequestLog): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return respond(response, 405, 'only GET and HEAD\n', { Allow: 'GET, HEAD' });
  const file = await resolveFile(root, request.url ?? '/');
  if (!file) return respond(response, 404, 'not found\n');
  const range = parseRange(request.headers.range, file.size);
  if (range === 'unsatisfiable') return respond(response, 416, 'range not satisfiable\n', { 'Content-Range': `bytes */${file.size}` });
  const [start, end] = range ?? [0, file.size - 1];
  const length = file.size === 0 ? 0 : end - start + 1;
  response.writeHead(range ? 206 : 200, {
    'Content-Length': String(length),
    'Content-Type': CONTENT_TYPES[file.path.slice(file.path.lastIndexOf('.'))] ?? 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    'Last-Modified': file.mtime.toUTCString(),
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${file.size}` } : {}),
  });
  if (request.method === 'HEAD' || length === 0) return void response.end();
  const stream = createReadStream(file.path, { start, end });
  stream.on('data', (chunk) => (entry.bytes += chunk.length));
  stream.on('error', () => response.destroy());
  stream.pipe(response);
}

/** The regular file a URL path names inside `root`, following no way out of it. */
async function resolveFile(root: string, url: string): Promise<{ path: string; size: number; mtime: Date } | undefined> {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url, 'http://x').pathname);
  } catch {
    return undefined;
  }
  if (path.includes('\0')) return undefined;
  const real = await realpath(join(root, path)).catch(() => undefined);
  if (!real || (real !== root && !real.startsWith(root + sep))) return undefined;
  const info = await stat(real).catch(() => undefined);
  return info?.isFile() ? { path: real, size: info.size, mtime: info.mtime } : undefined;
}

/** One `bytes=a-b`, `a-` or `-n` range; several ranges are answered with the whole file, as RFC 9110 allows. */
export function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return [start, end];
}

function respond(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  response.end(body);
}
