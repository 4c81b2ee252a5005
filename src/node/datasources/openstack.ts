/**
 * OpenStack metadata service (Nova). `meta_data.json` must answer: a 404
 * for user_data alone proves nothing, since other clouds' servers on
 * 169.254.169.254 answer 404 for paths they do not know.
 */
import { readJsonObject, readOptionalBody, requestHttp } from './http.js';
import { decodeUserData } from './decode.js';
import { readOpenStackMetaData } from './openstack-metadata.js';
import type { ProbeContext, SourceAnswer } from './types.js';

export const OPENSTACK_ENDPOINT = 'http://169.254.169.254';

export async function probeOpenStack(context: ProbeContext): Promise<SourceAnswer> {
  const base = `${context.baseUrl}/openstack/latest`;
  const [metaDataResponse, userDataResponse] = await Promise.all([
    requestHttp(`${base}/meta_data.json`, { signal: context.signal }),
    requestHttp(`${base}/user_data`, { signal: context.signal }),
  ]);
  const metaData = readJsonObject(metaDataResponse, 'openstack/latest/meta_data.json');
  const userData = decodeUserData(readOptionalBody(userDataResponse, 'openstack/latest/user_data'));
  return { userData, ...readOpenStackMetaData(metaData) };
}
