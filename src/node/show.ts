import { stringify } from 'yaml';
import type { NodeConfig } from '../config/types.js';

const SECRET_NAME = /pass|secret|token|key|credential/i;

/**
 * The merged config as `ros config show` prints it: the password, the token
 * of the Kubernetes keys, secret-looking variables and file contents are
 * masked, so the output can be pasted into a bug report.
 */
export function maskSecrets(config: NodeConfig): NodeConfig {
  const masked: NodeConfig = structuredClone(config);
  if (masked.ros?.password !== undefined) masked.ros.password = '(hidden)';
  if (masked.token !== undefined) masked.token = '(hidden)';
  if (masked.ros?.token !== undefined) masked.ros.token = '(hidden)';
  for (const key of ['rke2_args', 'k3s_args'] as const) {
    masked.ros?.[key]?.forEach((arg, i, args) => {
      const flag = /^(--?[^=]+)=/.exec(arg);
      if (flag && SECRET_NAME.test(flag[1]!)) args[i] = `${flag[1]}=(hidden)`;
      else if (/^--?\S+$/.test(arg) && SECRET_NAME.test(arg) && args[i + 1] !== undefined && !args[i + 1]!.startsWith('-')) args[i + 1] = '(hidden)';
    });
  }
  const environment = masked.ros?.environment;
  if (environment) {
    for (const name of Object.keys(environment)) {
      if (SECRET_NAME.test(name) || /:\/\/[^/\s]*:[^/\s]*@/.test(String(environment[name]))) environment[name] = '(hidden)';
    }
  }
  for (const file of masked.write_files ?? []) {
    if (file.content !== undefined) file.content = `(${typeof file.content === 'string' ? Buffer.byteLength(file.content) : file.content.length} bytes)`;
  }
  return masked;
}

export function renderConfig(config: NodeConfig): string {
  return `#cloud-config\n${stringify(maskSecrets(config))}`;
}
