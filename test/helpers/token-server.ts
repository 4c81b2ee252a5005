/**
 * A registry that authenticates the way ghcr.io and Docker Hub do: the Docker
 * token protocol. A real registry (Debian's docker-registry, CNCF distribution
 * 2.8) runs with `auth: token` and trusts a CA generated here; a small token
 * server beside it checks Basic credentials and hands out ES256 JWTs signed by
 * a certificate of that CA, which distribution verifies from the token's `x5c`
 * header against its `rootcertbundle`.
 *
 * What distribution 2.8 insists on (registry/auth/token/token.go):
 * - a JWS compact token whose header has `alg` matching the key (ES256 for
 *   P-256) and the signing chain in `x5c` (standard base64 DER, leaf first);
 * - `iss` equal to the configured issuer, `aud` a single string equal to the
 *   configured service (an array is a malformed token in 2.8), `exp`/`nbf`
 *   as seconds with 60 s leeway;
 * - the signature as raw r||s (64 bytes), not DER;
 * - `access: [{type, name, actions}]` covering every action a request needs
 *   (push needs pull and push).
 */
import { X509Certificate, createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { startRegistry, type TestRegistry } from '../../src/bench/registry.js';

export interface Login {
  username: string;
  password: string;
}

/** The token signer: a leaf certificate and its key, issued by a CA the registry trusts. */
export interface TokenSigner {
  /** PEM of the CA, the registry's rootcertbundle. */
  caPath: string;
  key: KeyObject;
  /** The `x5c` header: base64 DER, leaf only (the CA is the trusted root). */
  x5c: string[];
}

/** One request the token server answered; the password is never recorded. */
export interface TokenRequest {
  service?: string;
  scopes: string[];
  account?: string;
  /** The user name from Basic auth, if any was sent. */
  user?: string;
  /** Whether the user and password were right. */
  authenticated: boolean;
  status: number;
  userAgent?: string;
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: Array<{ type: string; name: string; actions: string[] }>;
}

export interface TokenAuthRegistry {
  /** host:port of the registry, as in image names. */
  host: string;
  /** The token endpoint (the challenge's realm). */
  realm: string;
  service: string;
  issuer: string;
  signer: TokenSigner;
  /** Everything the token server was asked, oldest first. */
  requests: TokenRequest[];
  /** What anonymous clients get; may be changed between tests. */
  anonymous: 'refuse' | 'empty';
  /**
   * Seconds until issued tokens expire (`exp`, `expires_in`); may be changed
   * between tests. Distribution allows 60 s of leeway past `exp`, so -55
   * makes a token that the registry accepts for about 5 s.
   */
  tokenLifetimeSeconds: number;
  /** A token as the server would issue it, for requests made outside the code under test. */
  issueToken: (subject: string, scopes: string[]) => string;
  /** What the registry logged (token rejections are logged at info level with the reason). */
  registryLog: () => string;
  stop: () => Promise<void>;
}

export interface TokenAuthOptions {
  registryPort: number;
  tokenPort: number;
  login: Login;
  /**
   * Without credentials: `refuse` answers 401 (a private registry); `empty`
   * issues a token that grants nothing, as Docker Hub and ghcr.io do for
   * anonymous clients.
   */
  anonymous?: 'refuse' | 'empty';
  /** Default 300, as Docker Hub. */
  tokenLifetimeSeconds?: number;
}

const SERVICE = 'ros-build-test-registry';
const ISSUER = 'ros-build-test-token-issuer';

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A CA (the registry's root bundle) and a signing certificate it issued, with openssl. */
export async function createTokenSigner(dir: string): Promise<TokenSigner> {
  const path = (name: string) => join(dir, name);
  const ec = ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  await execa('openssl', [...ec, '-out', path('ca.key')]);
  await execa('openssl', [
    'req', '-x509', '-new', '-key', path('ca.key'), '-subj', '/CN=ros-build test token CA', '-days', '2', '-out', path('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign',
  ]);
  await execa('openssl', [...ec, '-out', path('signer.key')]);
  await execa('openssl', ['req', '-new', '-key', path('signer.key'), '-subj', '/CN=ros-build test token signer', '-out', path('signer.csr')]);
  await writeFile(path('signer.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n');
  await execa('openssl', [
    'x509', '-req', '-in', path('signer.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-set_serial', '2',
    '-days', '1', '-extfile', path('signer.ext'), '-out', path('signer.pem'),
  ]);
  const leaf = new X509Certificate(await readFile(path('signer.pem')));
  return { caPath: path('ca.pem'), key: createPrivateKey(await readFile(path('signer.key'))), x5c: [leaf.raw.toString('base64')] };
}

/** A JWS compact token as distribution verifies it: ES256 over "header.claims", signature r||s. */
export function signToken(claims: TokenClaims, signer: Pick<TokenSigner, 'key' | 'x5c'>): string {
  const signingInput = `${base64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: signer.x5c }))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key: signer.key, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${base64url(signature)}`;
}

/** "repository:a/b:pull,push" → the access entry; actions other than pull and push are not granted. */
function grant(scope: string): TokenClaims['access'][number] | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  const type = scope.slice(0, first);
  if (type !== 'repository') return undefined;
  const actions = scope.slice(last + 1).split(',').filter((a) => a === 'pull' || a === 'push');
  return { type, name: scope.slice(first + 1, last), actions };
}

function claimsFor(subject: string, scopes: string[], lifetimeSeconds: number): TokenClaims {
  const now = Math.floor(Date.now() / 1000);
  const access = scopes.map(grant).filter((a): a is NonNullable<typeof a> => a !== undefined);
  return { iss: ISSUER, sub: subject, aud: SERVICE, exp: now + lifetimeSeconds, nbf: now - 10, iat: now, jti: randomUUID(), access };
}

interface Policy {
  anonymous: 'refuse' | 'empty';
  tokenLifetimeSeconds: number;
}

function basicUser(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const split = decoded.indexOf(':');
  return split < 0 ? undefined : { user: decoded.slice(0, split), password: decoded.slice(split + 1) };
}

/** The token endpoint: GET /token?service=..&scope=.. with Basic auth. */
function startTokenServer(options: { port: number; login: Login; signer: TokenSigner; policy: Policy; requests: TokenRequest[] }): Promise<Server> {
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    if (req.method !== 'GET' || url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const service = url.searchParams.get('service') ?? undefined;
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    const basic = basicUser(req.headers.authorization);
    const authenticated = basic?.user === options.login.username && basic.password === options.login.password;
    const record: TokenRequest = {
      service,
      scopes,
      account: url.searchParams.get('account') ?? undefined,
      user: basic?.user,
      authenticated,
      status: 200,
      userAgent: req.headers['user-agent'],
    };
    options.requests.push(record);
    const refuse = () => {
      record.status = 401;
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="ros-build-test-token"' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    };
    if (service !== SERVICE) {
      record.status = 400;
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'INVALID_SERVICE', message: `unknown service ${service}` }] }));
      return;
    }
    if (basic && !authenticated) return refuse();
    if (!basic && options.policy.anonymous === 'refuse') return refuse();
    const lifetime = options.policy.tokenLifetimeSeconds;
    const token = signToken(claimsFor(basic ? basic.user : '', basic ? scopes : [], lifetime), options.signer);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: lifetime, issued_at: new Date().toISOString() }));
  };
  return new Promise((resolve, reject) => {
    const server = createServer(handle);
    server.on('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve(server));
  });
}

/** Start the token server and a registry that trusts it, on 127.0.0.1 at fixed ports. */
export async function startTokenAuthRegistry(options: TokenAuthOptions): Promise<TokenAuthRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'ros-build-token-registry-'));
  const realm = `http://127.0.0.1:${options.tokenPort}/token`;
  const requests: TokenRequest[] = [];
  const policy: Policy = { anonymous: options.anonymous ?? 'refuse', tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 300 };
  let server: Server | undefined;
  let registry: TestRegistry | undefined;
  const stop = async () => {
    await registry?.stop();
    if (server) {
      const closing = new Promise<void>((resolve) => server!.close(() => resolve()));
      server.closeAllConnections();
      await closing;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const signer = await createTokenSigner(dir);
    server = await startTokenServer({ port: options.tokenPort, login: options.login, signer, policy, requests });
    registry = await startRegistry({
      port: options.registryPort,
      // Why a token was refused is logged only at level info.
      logLevel: 'info',
      auth: ['auth:', '  token:', `    realm: ${realm}`, `    service: ${SERVICE}`, `    issuer: ${ISSUER}`, `    rootcertbundle: ${signer.caPath}`],
    });
    const { host } = registry;
    return {
      get anonymous() {
        return policy.anonymous;
      },
      set anonymous(mode) {
        policy.anonymous = mode;
      },
      get tokenLifetimeSeconds() {
        return policy.tokenLifetimeSeconds;
      },
      set tokenLifetimeSeconds(seconds) {
        policy.tokenLifetimeSeconds = seconds;
      },
      host,
      realm,
      service: SERVICE,
      issuer: ISSUER,
      signer,
      requests,
      issueToken: (subject, scopes) => signToken(claimsFor(subject, scopes, policy.tokenLifetimeSeconds), signer),
      registryLog: registry.log,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
