import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { planDistributionConfig, wantsKubernetes, writeDistributionConfig } from '../../../src/node/kubernetes/config.js';
import { maskSecrets } from '../../../src/node/show.js';

const root = mkdtempSync(join(tmpdir(), 'ros-k8s-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the distribution\'s config.yaml from the family\'s keys', () => {
  it('an agent joining a server: server, token, labels and taints as RKE2\'s flags', () => {
    expect(planDistributionConfig({ server_url: 'https://10.0.0.1:9345', token: 's3cret', labels: { zone: 'a', gpu: true }, taints: ['dedicated=ml:NoSchedule'] })).toEqual({
      distribution: 'rke2',
      role: 'agent',
      path: 'etc/rancher/rke2/config.yaml',
      values: { server: 'https://10.0.0.1:9345', token: 's3cret', 'node-label': ['zone=a', 'gpu=true'], 'node-taint': ['dedicated=ml:NoSchedule'] },
    });
  });

  it('the first argument picks the role; flags in every spelling become keys, list flags and repeats add up', () => {
    const plan = planDistributionConfig({
      server_url: 'https://first:9345',
      labels: { role: 'cp' },
      rke2_args: ['server', '--cluster-cidr=10.42.0.0/16', '--tls-san', 'k8s.example.org', '--tls-san=10.0.0.9', '--node-label=extra=yes', '--disable-cloud-controller', '--write-kubeconfig-mode', '0640'],
    });
    expect(plan.role).toBe('server');
    expect(plan.values).toEqual({
      server: 'https://first:9345',
      'node-label': ['role=cp', 'extra=yes'],
      'cluster-cidr': '10.42.0.0/16',
      'tls-san': ['k8s.example.org', '10.0.0.9'],
      'disable-cloud-controller': true,
      'write-kubeconfig-mode': '0640',
    });
    expect(planDistributionConfig({}).role).toBe('server');
    expect(planDistributionConfig({ rke2_args: ['agent'] }).role).toBe('agent');
  });

  it('k3s when asked, or when only k3s_args are given; the other family\'s args are not read', () => {
    expect(planDistributionConfig({ k3s_args: ['--disable=traefik'] })).toMatchObject({ distribution: 'k3s', path: 'etc/rancher/k3s/config.yaml', values: { disable: ['traefik'] } });
    expect(planDistributionConfig({ kubernetes: { distribution: 'k3s' }, rke2_args: ['--x=1'] }).values).toEqual({});
  });

  it('refuses an argument that is not a flag, naming its place and never its value', () => {
    expect(() => planDistributionConfig({ rke2_args: ['--token', 'a', 'hunter2-secret'] })).toThrow('ros.rke2_args[2] is not a flag (--name or --name=value); only the first argument may be server or agent');
    try {
      planDistributionConfig({ rke2_args: ['--token', 'a', 'hunter2-secret'] });
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('is wanted only when a Kubernetes key is set', () => {
    expect(wantsKubernetes(undefined)).toBe(false);
    expect(wantsKubernetes({ password: 'x' })).toBe(false);
    expect(wantsKubernetes({ kubernetes: {} })).toBe(true);
    expect(wantsKubernetes({ taints: [] })).toBe(true);
  });

  it('writes the file readable by root only and logs the keys it wrote, not their values', async () => {
    const ros = { server_url: 'https://s:9345', token: 'tok-very-secret', kubernetes: { version: 'v1.31.4+rke2r1' } };
    expect(await writeDistributionConfig(root, ros)).toEqual({ line: 'kubernetes: wrote /etc/rancher/rke2/config.yaml for rke2 as an agent (server, token)', changed: false });
    const path = join(root, 'etc/rancher/rke2/config.yaml');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(parse(readFileSync(path, 'utf8'))).toEqual({ server: 'https://s:9345', token: 'tok-very-secret' });
    // Written again: the same settings are no change; a new label is (the running service restarts for it).
    expect((await writeDistributionConfig(root, ros)).changed).toBe(false);
    expect(await writeDistributionConfig(root, { ...ros, labels: { zone: 'b' } })).toEqual({ line: 'kubernetes: wrote /etc/rancher/rke2/config.yaml for rke2 as an agent (server, token, node-label), changed', changed: true });
  });

  it('ros config show masks the token, and secret-looking flags in the args', () => {
    const masked = maskSecrets({ ros: { token: 'tok', rke2_args: ['server', '--agent-token=abc', '--etcd-s3-secret-key', 'xyz', '--tls-san=a'] } });
    expect(masked.ros).toEqual({ token: '(hidden)', rke2_args: ['server', '--agent-token=(hidden)', '--etcd-s3-secret-key', '(hidden)', '--tls-san=a'] });
  });
});
