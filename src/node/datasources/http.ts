/**
 * The one HTTP client of the data sources: node:http(s) rather than global
 * fetch, because Scaleway only hands out user data to a source port below
 * 1024 (`localPort`), which fetch cannot set. No retries here: a metadata
 * service on the local link either answers at once or is not there, and the
 * prober's budget decides how long to wait.
 */
import http from 'node:http';
import https from 'node:https';
import { parseJsonObject } from './decode.js';

export interface HttpRequest {
  method?: 'GET' | 'PUT' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Aborts the request (budget spent, or another source won). */
  signal: AbortSignal;
  /** Source port to bind (Scaleway's privileged port). */
  localPort?: number;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Metadata answers are small (AWS caps user data at 16 KiB, Azure at 64 KiB); a bigger one is not a metadata service. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Network failures keep Node's error code (EADDRINUSE, EACCES …) so that callers can react to it. */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** Send one request and read the whole answer, whatever its status. */
export function requestHttp(url: string, request: HttpRequest): Promise<HttpResponse> {
  const method = request.method ?? 'GET';
  const headers: Record<string, string> = { ...request.headers };
  // A PUT or POST says how long its body is (none: 0), or some servers wait for more.
  const body = Buffer.from(request.body ?? '');
  if (method !== 'GET') headers['Content-Length'] = String(body.length);
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const fail = (error: Error & { code?: string }) => reject(new HttpError(`no answer from ${url}: ${error.message}`, error.code));
    const req = client.request(
      url,
      // No agent: no keep-alive socket outlives the probe, and every request binds its own source port.
      { method, headers, signal: request.signal, agent: false, ...(request.localPort === undefined ? {} : { localPort: request.localPort }) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('answer cut off')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', fail);
    req.end(method === 'GET' ? undefined : body);
  });
}

/** The body of a 200, undefined for a 404 (the service is there but holds no such item); any other status throws. */
export function readOptionalBody(response: HttpResponse, what: string): Buffer | undefined {
  if (response.status === 200) return response.body;
  if (response.status === 404) return undefined;
  throw new Error(`HTTP ${response.status} for ${what}`);
}

/** The trimmed text of a 200, undefined for anything else: for items a source may or may not offer (keys, hostname). */
export function readOptionalText(response: HttpResponse): string | undefined {
  if (response.status !== 200) return undefined;
  const text = response.body.toString('utf8').trim();
  return text === '' ? undefined : text;
}

/** A 200 whose body is a JSON object; anything else throws, so callers can use it as proof that their service answered. */
export function readJsonObject(response: HttpResponse, what: string): Record<string, unknown> {
  if (response.status !== 200) throw new Error(`HTTP ${response.status} for ${what}`);
  return parseJsonObject(response.body.toString('utf8'), what);
}
