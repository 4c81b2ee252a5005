/**
 * AWS EC2 instance metadata, IMDSv2 only: a session token from
 * `PUT /latest/api/token`, then GETs that carry it.
 *
 * There is deliberately no fallback to IMDSv1 (plain GETs): IMDSv1 is what
 * server-side request forgery uses to read a machine's metadata and
 * credentials, and instances are commonly configured to require v2. A machine
 * whose IMDS refuses tokens counts as "no aws here", with a line saying so.
 */
import { readOptionalBody, readOptionalText, requestHttp, type HttpResponse } from './http.js';
import { decodeUserData, splitKeyLines } from './decode.js';
import type { ProbeContext, SourceAnswer } from './types.js';

export const AWS_ENDPOINT = 'http://169.254.169.254';
/** Six hours, the most IMDS grants: a probe needs seconds, but a shorter token buys nothing. */
const TOKEN_TTL_SECONDS = '21600';

export async function probeAws(context: ProbeContext): Promise<SourceAnswer> {
  const session = new ImdsSession(context);
  await session.start();
  const userData = decodeUserData(readOptionalBody(await session.get('/latest/user-data'), 'user-data'));
  const sshKeys = await fetchPublicKeys(session);
  const hostname = readOptionalText(await session.get('/latest/meta-data/local-hostname'));
  return { userData, sshKeys, ...(hostname === undefined ? {} : { hostname }) };
}

/** A token and the GETs made with it; a GET answered 401 (token expired) gets a new token and one retry. */
class ImdsSession {
  private token = '';

  constructor(private readonly context: ProbeContext) {}

  async start(): Promise<void> {
    this.token = await this.fetchToken();
  }

  async get(path: string): Promise<HttpResponse> {
    const first = await this.send(path);
    if (first.status !== 401) return first;
    this.token = await this.fetchToken();
    const second = await this.send(path);
    if (second.status === 401) throw new Error(`token refused on GET ${path} (HTTP 401 again after a new token)`);
    return second;
  }

  private send(path: string): Promise<HttpResponse> {
    return requestHttp(this.context.baseUrl + path, { headers: { 'X-aws-ec2-metadata-token': this.token }, signal: this.context.signal });
  }

  private async fetchToken(): Promise<string> {
    const response = await requestHttp(`${this.context.baseUrl}/latest/api/token`, {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': TOKEN_TTL_SECONDS },
      signal: this.context.signal,
    });
    if (response.status !== 200) {
      // 403: the instance's metadata service is disabled; other codes: not an IMDS that speaks v2.
      throw new Error(`token refused (HTTP ${response.status}): IMDSv2 is disabled or not offered here, and IMDSv1 is not used`);
    }
    const token = response.body.toString('utf8').trim();
    if (token === '') throw new Error('token refused (empty token in an HTTP 200)');
    return token;
  }
}

/** `public-keys/` lists `0=name` lines; each index has an `openssh-key`. Missing keys are fine. */
async function fetchPublicKeys(session: ImdsSession): Promise<string[]> {
  const listing = readOptionalText(await session.get('/latest/meta-data/public-keys/'));
  if (listing === undefined) return [];
  const keys: string[] = [];
  for (const line of listing.split('\n')) {
    const index = /^(\d+)=/.exec(line.trim())?.[1];
    if (index === undefined) continue;
    const key = readOptionalText(await session.get(`/latest/meta-data/public-keys/${index}/openssh-key`));
    if (key !== undefined) keys.push(...splitKeyLines(key));
  }
  return [...new Set(keys)];
}
