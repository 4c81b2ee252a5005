import { describe, expect, it } from 'vitest';
import { NOT_APPLIED_KEYS, formatProblem, parseConfigText } from '../../../src/config/load.js';
import { mergeConfigs } from '../../../src/config/merge.js';

describe('parseConfigText', () => {
  it('accepts every documented key', () => {
    const loaded = parseConfigText(
      [
        '#cloud-config',
        'hostname: node-1',
        'ssh_authorized_keys: [ "ssh-ed25519 AAAA a@b", "github:someone" ]',
        'write_files:',
        '  - { path: /etc/a, content: aGk=, encoding: b64, owner: "rancher:rancher", permissions: "0600" }',
        '  - path: /etc/b',
        '    content: !!binary aGk=',
        'init_cmd: [ "echo init" ]',
        'boot_cmd: [ [ "/bin/echo", "boot" ] ]',
        'run_cmd: [ "echo run" ]',
        'ros:',
        '  data_sources: [cdrom, aws]',
        '  modules: [dummy]',
        '  sysctl: { vm.swappiness: "10", kernel.printk: 4 }',
        '  dns_nameservers: [1.1.1.1]',
        '  ntp_servers: [pool.ntp.org]',
        '  password: secret',
        '  environment: { http_proxy: "http://proxy:3128" }',
        '  install: { automatic: true, device: /dev/vda, silent: true, power_off: true }',
        '  upgrade: { image: "reg/os:2", verify_key: /etc/cosign.pub }',
        'server_url: https://k8s:6443',
      ].join('\n'),
      'test.yaml',
    );
    expect(loaded.problems).toEqual([]);
    expect(loaded.config.hostname).toBe('node-1');
    expect(Buffer.from(loaded.config.write_files![1]!.content as Uint8Array).toString()).toBe('hi');
  });

  it('reports broken YAML with the file and the position, and applies nothing from it', () => {
    const loaded = parseConfigText('#cloud-config\nhostname: [a\nfoo: 1\n', '/oem/90.yaml');
    expect(loaded.config).toEqual({});
    expect(loaded.problems).toHaveLength(1);
    expect(formatProblem(loaded.problems[0]!)).toMatch(/^error: \/oem\/90\.yaml: not valid YAML: .*\(line \d+, column \d+\)$/);
  });

  it('drops a value of the wrong type, names its path, and keeps the rest', () => {
    const loaded = parseConfigText('hostname: ok\nros:\n  sysctl: 5\n  modules: [dummy]\nwrite_files:\n  - { path: /a, permissions: "99" }\n  - { content: x }\n', 'f.yaml');
    expect(loaded.config).toEqual({ hostname: 'ok', ros: { modules: ['dummy'] }, write_files: [{ path: '/a' }] });
    expect(loaded.problems.map((p) => `${p.severity} ${p.path}`).sort()).toEqual(['error ros.sysctl', 'error write_files[0].permissions', 'error write_files[1]']);
  });

  it('warns about an unknown key with the nearest known one, and drops it', () => {
    const loaded = parseConfigText('hostnme: a\nros: { modules: [x], modulez: [y] }\n', 'f.yaml');
    expect(loaded.config).toEqual({ ros: { modules: ['x'] } });
    expect(loaded.problems.map(formatProblem)).toEqual(
      expect.arrayContaining(['warning: f.yaml: hostnme: unknown key, ignored (did you mean "hostname"?)', expect.stringMatching(/^warning: f\.yaml: ros\.modulez: unknown key/)]),
    );
  });

  it('never echoes a wrongly typed value (it may be a password)', () => {
    const loaded = parseConfigText('ros:\n  password: [hunter2]\n', 'f.yaml');
    expect(loaded.problems.map(formatProblem).join('\n')).not.toContain('hunter2');
    expect(loaded.config).toEqual({ ros: {} });
  });

  it('takes an empty document and rejects a document that is not a map', () => {
    expect(parseConfigText('#cloud-config\n', 'f').problems).toEqual([]);
    expect(parseConfigText('- a\n', 'f').problems[0]!.message).toMatch(/must be a map/);
  });

  it('lists the family keys it accepts but does not apply', () => {
    expect(NOT_APPLIED_KEYS).toEqual(expect.arrayContaining(['server_url', 'token', 'labels', 'taints', 'rke2_args', 'wifi']));
  });
});

describe('mergeConfigs', () => {
  it('merges maps key by key, a later scalar and list win, the appended lists append', () => {
    const merged = mergeConfigs([
      { hostname: 'a', ssh_authorized_keys: ['k1'], write_files: [{ path: '/1' }], run_cmd: ['one'], ros: { modules: ['m1'], dns_nameservers: ['1.1.1.1'], sysctl: { a: '1', b: '2' } } },
      { hostname: 'b', ssh_authorized_keys: ['k2'], write_files: [{ path: '/2' }], run_cmd: ['two'], ros: { modules: ['m2'], dns_nameservers: ['8.8.8.8'], sysctl: { b: '3' } } },
    ]);
    expect(merged).toEqual({
      hostname: 'b',
      ssh_authorized_keys: ['k1', 'k2'],
      write_files: [{ path: '/1' }, { path: '/2' }],
      run_cmd: ['one', 'two'],
      ros: { modules: ['m1', 'm2'], dns_nameservers: ['8.8.8.8'], sysctl: { a: '1', b: '3' } },
    });
  });

  it('does not change its inputs', () => {
    const first = { ros: { sysctl: { a: '1' } } };
    mergeConfigs([first, { ros: { sysctl: { a: '2' } } }]);
    expect(first).toEqual({ ros: { sysctl: { a: '1' } } });
  });
});
