/**
 * Scaleway instance metadata at 169.254.42.42: `/conf?format=json` (keys in
 * `ssh_public_keys[].key`, `hostname`) and the user data key `cloud-init`
 * under /user_data/. Scaleway only serves user data to requests from a
 * source port below 1024 (so only root on the instance reads it), hence
 * node:http with `localPort`.
 */
import { HttpError, readJsonObject, readOptionalBody, requestHttp, type HttpResponse } from './http.js';
import { collectSshKeys, decodeUserData, readHostname } from './decode.js';
import type { ProbeContext, SourceAnswer } from './types.js';

export const SCALEWAY_ENDPOINT = 'http://169.254.42.42';
/** Privileged source ports tried in turn: one may be taken, or still in TIME_WAIT from an earlier probe. */
export const SCALEWAY_SOURCE_PORTS: readonly number[] = Array.from({ length: 10 }, (_, index) => 1000 - index);

export async function probeScaleway(context: ProbeContext): Promise<SourceAnswer> {
  const conf = readJsonObject(await requestHttp(`${context.baseUrl}/conf?format=json`, { signal: context.signal }), 'conf?format=json');
  const userDataResponse = await requestFromPrivilegedPort(`${context.baseUrl}/user_data/cloud-init`, context.signal, SCALEWAY_SOURCE_PORTS);
  const userData = decodeUserData(readOptionalBody(userDataResponse, 'user_data/cloud-init'));
  const keys = Array.isArray(conf['ssh_public_keys']) ? conf['ssh_public_keys'].map((entry: unknown) => (entry as { key?: unknown } | null)?.key) : [];
  const hostname = readHostname(conf['hostname']);
  return { userData, sshKeys: collectSshKeys(keys), ...(hostname === undefined ? {} : { hostname }) };
}

/** GET from the first of `ports` that can be bound. */
export async function requestFromPrivilegedPort(url: string, signal: AbortSignal, ports: readonly number[]): Promise<HttpResponse> {
  let lastError: unknown = new Error('no source port to try');
  for (const localPort of ports) {
    try {
      return await requestHttp(url, { signal, localPort });
    } catch (error) {
      if (error instanceof HttpError && error.code === 'EACCES') throw new Error(`user data needs a source port below 1024, which only root may bind (${error.message})`);
      if (!(error instanceof HttpError && error.code === 'EADDRINUSE')) throw error;
      lastError = error;
    }
  }
  throw lastError;
}
