import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../../errors.js';
import { findCredentials, type Credentials } from './credentials.js';
import { isLoopbackRegistry, registryApiHost, type ImageReference } from './reference.js';
import { DEFAULT_RETRY, TransientError, withRetries, type RetryPolicy } from './retry.js';

/** Content to upload; `open` is called once per attempt, so large files are streamed, never held in memory. */
export interface BlobSource {
  digest: string;
  size: number;
  open: () => Readable;
}

export interface RemoteManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface ClientOptions {
  /** Talk plain HTTP to a registry that is not on loopback. */
  allowHttp?: boolean;
  retry?: RetryPolicy;
  /** Explicit credentials; by default they are looked up (environment, Docker config). */
  credentials?: Credentials;
  onRetry?: (message: string) => void;
}

export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

/** The linux/amd64 image's manifest digest in a multi-platform index (`digest` names the index in the error). */
export function pickAmd64Manifest(index: { manifests: ReadonlyArray<{ digest: string; platform?: { os?: string; architecture?: string } }> }, digest: string): string {
  const amd64 = index.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64');
  if (!amd64) throw new Error(`${digest} is a multi-platform index without a linux/amd64 image`);
  return amd64.digest;
}

/** Thrown for a 404 from the registry: the caller decides whether that is an error. */
export class NotFoundError extends Error {}

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * The stream's bytes, passed on as they come, hashed on the way: it fails at
 * its end when they do not match the digest (`from` names the source).
 */
export function checkDigestOnTheWay(source: Readable, digest: string, from: string): Readable {
  const hash = createHash('sha256');
  const verify = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const actual = `sha256:${hash.digest('hex')}`;
      callback(actual === digest ? null : new Error(`blob ${digest} from ${from} does not match its digest (got ${actual})`));
    },
  });
  source.on('error', (error) => verify.destroy(new Error(`blob ${digest} from ${from}: ${error.message}`)));
  return source.pipe(verify);
}

/** What reading an image needs: the registry client, or an OCI layout on a medium (oci-layout.ts). */
export type ImageReader = Pick<RegistryClient, 'getManifest' | 'resolveDigest' | 'getBlob' | 'openBlob'>;

/**
 * A minimal OCI distribution client for one repository: just what publishing
 * needs (blobs, manifests, tags), with token/basic auth and bounded retries.
 */
export class RegistryClient {
  private base = '';
  private authorization?: string;
  private credentials?: Credentials;
  /** The Bearer challenge and when its token runs out: tokens last minutes, a push of a large image can last longer. */
  private bearer?: { params: Record<string, string>; expiresAt: number };
  private readonly retry: RetryPolicy;

  private constructor(
    readonly registry: string,
    readonly repository: string,
    private readonly options: ClientOptions,
  ) {
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  /** The credentials the login used (for tools that push on our behalf, like skopeo). */
  get loginCredentials(): Credentials | undefined {
    return this.credentials;
  }

  static async connect(ref: ImageReference, options: ClientOptions = {}): Promise<RegistryClient> {
    const client = new RegistryClient(ref.registry, ref.repository, options);
    await client.login();
    return client;
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `blobs/${digest}`);
    if (res.status === 404) return false;
    await this.check(res, [200], `check blob ${digest}`);
    return true;
  }

  /** Upload a blob unless the registry has it; returns whether bytes were sent. */
  async pushBlob(blob: BlobSource): Promise<boolean> {
    if (await this.hasBlob(blob.digest)) return false;
    await withRetries(
      this.retry,
      async () => {
        const start = await this.attempt('POST', this.url('blobs/uploads/'));
        await this.check(start, [202], 'start a blob upload');
        const location = new URL(start.headers.get('location') ?? '', this.base);
        location.searchParams.set('digest', blob.digest);
        const done = await this.attempt('PUT', location.href, {
          body: blob.open(),
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
        });
        await this.check(done, [201], `upload blob ${blob.digest}`);
      },
      (last, attempts) => this.unreachable(last, attempts),
      (error, delay) => this.options.onRetry?.(`${error.message}; retrying blob upload in ${delay} ms`),
    );
    return true;
  }

  /** Store a manifest under a tag (or its digest); returns its digest, checked against what the registry computed. */
  async putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const digest = sha256Digest(bytes);
    const res = await this.request('PUT', `manifests/${reference}`, { body: bytes, headers: { 'content-type': mediaType } });
    await this.check(res, [201], `store manifest ${reference}`);
    const answered = res.headers.get('docker-content-digest');
    if (answered && answered !== digest) throw new Error(`registry stored manifest ${reference} as ${answered}, but its bytes hash to ${digest}`);
    return digest;
  }

  /** The manifest a tag or digest names, or undefined if there is none. */
  async getManifest(reference: string, accept: string[] = MANIFEST_MEDIA_TYPES): Promise<RemoteManifest | undefined> {
    const res = await this.request('GET', `manifests/${reference}`, { headers: { accept: accept.join(', ') } });
    if (res.status === 404) return undefined;
    await this.check(res, [200], `fetch manifest ${reference}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const digest = sha256Digest(bytes);
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new Error(`registry returned manifest bytes hashing to ${digest} for ${reference}`);
    }
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim() || (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType || '';
    return { bytes, mediaType, digest };
  }

  async resolveDigest(reference: string): Promise<string | undefined> {
    return (await this.getManifest(reference))?.digest;
  }

  /** A small blob (config, signature payload), checked against its digest. */
  async getBlob(digest: string, maxBytes = 16 << 20): Promise<Buffer> {
    const res = await this.request('GET', `blobs/${digest}`);
    if (res.status === 404) throw new NotFoundError(`blob ${digest} is not in ${this.registry}/${this.repository}`);
    await this.check(res, [200], `fetch blob ${digest}`);
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > maxBytes) throw new Error(`blob ${digest} is ${length} bytes, more than the ${maxBytes} expected`);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (sha256Digest(bytes) !== digest) throw new Error(`blob ${digest} from ${this.registry} does not match its digest`);
    return bytes;
  }

  /**
   * A blob of any size (an image layer) as a stream, for a consumer that
   * reads it once: its sha256 is computed on the way and the stream fails at
   * its end when the bytes do not match the digest, so whatever was made from
   * them must be thrown away by the consumer. Only the request is retried; a
   * connection lost mid-stream fails the stream.
   */
  async openBlob(digest: string): Promise<Readable> {
    const res = await this.request('GET', `blobs/${digest}`);
    if (res.status === 404) throw new NotFoundError(`blob ${digest} is not in ${this.registry}/${this.repository}`);
    await this.check(res, [200], `fetch blob ${digest}`);
    if (!res.body) throw new Error(`registry ${this.registry} sent no body for blob ${digest}`);
    const source = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    return checkDigestOnTheWay(source, digest, this.registry);
  }


  /** Paths are relative to the repository; an absolute one ("/v2/") is taken as is. */
  private url(path: string): string {
    return path.startsWith('/') ? `${this.base}${path}` : `${this.base}/v2/${this.repository}/${path}`;
  }

  private async request(method: string, path: string, init: { body?: Buffer; headers?: Record<string, string> } = {}): Promise<Response> {
    return withRetries(
      this.retry,
      () => this.attempt(method, this.url(path), init),
      (last, attempts) => this.unreachable(last, attempts),
      (error, delay) => this.options.onRetry?.(`${error.message}; retrying in ${delay} ms`),
    );
  }

  /** One HTTP exchange; network failures and 5xx/429 become TransientErrors for the retry loop. */
  private async attempt(method: string, url: string, init: { body?: Buffer | Readable; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.bearer && Date.now() >= this.bearer.expiresAt) await this.renewToken();
    if (this.authorization) headers.authorization = this.authorization;
    let res: Response;
    try {
      res = init.body instanceof Readable
        ? await sendStream(method, url, headers, init.body)
        : await fetch(url, { method, headers, body: init.body ? new Uint8Array(init.body) : undefined, redirect: 'follow' });
    } catch (error) {
      if (init.body instanceof Readable) init.body.destroy();
      throw new TransientError(describeNetworkError(error), error);
    }
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel();
      throw new TransientError(`${this.registry} answered HTTP ${res.status} to ${method}`);
    }
    return res;
  }

  /** Turn a non-success answer into an error that says what was refused, never echoing credentials. */
  private async check(res: Response, ok: number[], what: string): Promise<void> {
    if (ok.includes(res.status)) return;
    const detail = await registryErrorText(res);
    if (res.status === 401 || res.status === 403) {
      const who = this.credentials ? `user "${this.credentials.username}" (credentials from ${this.credentials.source})` : 'anonymous access';
      throw new UserError(
        `registry ${this.registry} refused to ${what} in ${this.repository} for ${who}${detail ? `: ${detail}` : ''}`,
        this.credentials ? 'check that the account may push to this repository' : loginHint(this.registry),
      );
    }
    if (res.status === 404) throw new NotFoundError(`${what}: not found in ${this.registry}/${this.repository}${detail ? ` (${detail})` : ''}`);
    throw new Error(`registry ${this.registry} answered HTTP ${res.status} to "${what}"${detail ? `: ${detail}` : ''}`);
  }

  private unreachable(last: TransientError, attempts: number): Error {
    const http = isLoopbackRegistry(this.registry) || this.options.allowHttp;
    return new UserError(
      `cannot reach registry ${this.registry} (${attempts} attempts with backoff): ${last.message}`,
      `check the registry host in the repository name and that it is running${http ? '' : '; plain HTTP is used only for loopback registries or with --allow-http'}`,
    );
  }

  /** Pick the scheme and authenticate the way docker does: answer the registry's challenge on /v2/. */
  private async login(): Promise<void> {
    this.base = await this.chooseBase();
    const ping = await this.request('GET', '/v2/');
    if (ping.status === 200) return;
    if (ping.status !== 401) return this.check(ping, [200], 'answer the API version check');
    const challenge = parseChallenge(ping.headers.get('www-authenticate') ?? '');
    await ping.body?.cancel();
    this.credentials = this.options.credentials ?? (await findCredentials(this.registry));
    if (challenge.scheme === 'basic') {
      if (!this.credentials) throw this.loginRequired();
      this.authorization = basicAuth(this.credentials);
      const again = await this.request('GET', '/v2/');
      if (again.status === 401) throw this.refusedLogin();
      return this.check(again, [200], 'accept the login');
    }
    if (challenge.scheme === 'bearer' && challenge.params.realm) {
      this.bearer = { params: challenge.params, expiresAt: 0 };
      await this.renewToken();
      return;
    }
    throw new Error(`registry ${this.registry} asks for an unsupported authentication scheme "${challenge.scheme}"`);
  }

  private loginRequired(): UserError {
    return new UserError(`registry ${this.registry} requires a login and no credentials were found`, loginHint(this.registry));
  }

  private refusedLogin(): UserError {
    const { username, source } = this.credentials!;
    return new UserError(`registry ${this.registry} refused the login of user "${username}" (credentials from ${source})`, `check the user name and password, or run: docker login ${this.registry}`);
  }

  private async renewToken(): Promise<void> {
    const { token, expiresIn } = await this.fetchToken(this.bearer!.params);
    this.authorization = `Bearer ${token}`;
    // Renew 10 s early; the spec's default lifetime is 60 s when the service does not say.
    this.bearer!.expiresAt = Date.now() + (expiresIn - 10) * 1000;
  }

  private async fetchToken(params: Record<string, string>): Promise<{ token: string; expiresIn: number }> {
    const url = new URL(params.realm!);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', `repository:${this.repository}:pull,push`);
    const headers: Record<string, string> = {};
    if (this.credentials) headers.authorization = basicAuth(this.credentials);
    const res = await withRetries(
      this.retry,
      async () => {
        try {
          const r = await fetch(url, { headers });
          if (r.status >= 500 || r.status === 429) throw new TransientError(`token service answered HTTP ${r.status}`);
          return r;
        } catch (error) {
          if (error instanceof TransientError) throw error;
          throw new TransientError(describeNetworkError(error), error);
        }
      },
      (last, attempts) => this.unreachable(last, attempts),
    );
    if (res.status === 401 || res.status === 403) {
      throw this.credentials ? this.refusedLogin() : this.loginRequired();
    }
    if (!res.ok) throw new Error(`token service ${url.host} answered HTTP ${res.status}`);
    const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error(`token service ${url.host} returned no token`);
    return { token, expiresIn: typeof body.expires_in === 'number' ? body.expires_in : 60 };
  }

  /** HTTPS always; for loopback (or --allow-http) fall back to HTTP when the registry does not speak TLS. */
  private async chooseBase(): Promise<string> {
    const host = registryApiHost(this.registry);
    const https = `https://${host}`;
    if (!isLoopbackRegistry(this.registry) && !this.options.allowHttp) return https;
    try {
      await fetch(`${https}/v2/`, { method: 'GET' });
      return https;
    } catch {
      return `http://${host}`;
    }
  }
}

function basicAuth(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

function loginHint(registry: string): string {
  return `set REGISTRY_USERNAME and REGISTRY_PASSWORD, or run: docker login ${registry}`;
}

export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const match = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!match) return { scheme: '', params: {} };
  const params: Record<string, string> = {};
  for (const [, key, quoted, bare] of match[2]!.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) params[key!.toLowerCase()] = quoted ?? bare ?? '';
  return { scheme: match[1]!.toLowerCase(), params };
}

function describeNetworkError(error: unknown): string {
  // fetch wraps the system error in `cause`; node:http hands it over directly.
  const cause = (error as { cause?: { code?: string; message?: string } }).cause ?? (error as { code?: string; message?: string });
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return (error as Error).message;
}

/**
 * Send a streamed body with node:http(s), which waits for the socket to drain:
 * Node 20's fetch does not, and would hold a whole ISO in memory while it uploads.
 */
function sendStream(method: string, url: string, headers: Record<string, string>, body: Readable): Promise<Response> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(target, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const answer = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) answer.set(name, Array.isArray(value) ? value.join(', ') : value);
        const status = res.statusCode ?? 0;
        resolve(new Response([204, 205, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers: answer }));
      });
    });
    req.on('error', reject);
    pipeline(body, req).catch(reject);
  });
}

async function registryErrorText(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { errors?: Array<{ code?: string; message?: string }> };
    return (body.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    return '';
  }
}
