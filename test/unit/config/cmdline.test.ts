import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CMDLINE_LIST_KEYS, parseKernelCmdline, readKernelCmdline } from '../../../src/config/cmdline.js';

const config = (cmdline: string): Record<string, unknown> => parseKernelCmdline(cmdline).config;

describe('parseKernelCmdline', () => {
  it('ignores words that are not ros.*', () => {
    const result = parseKernelCmdline(
      'BOOT_IMAGE=/boot/vmlinuz root=LABEL=COS_ACTIVE console=ttyS0,115200n8 quiet rosetta=1 ros=x ros rd.ros.x=1',
    );
    expect(result).toEqual({ config: {}, problems: [] });
  });

  it('splits dotted keys into nested maps', () => {
    expect(config('quiet ros.install.device=/dev/vda ros.install.tty=ttyS0 ros.upgrade.image=reg/os:v1')).toEqual({
      ros: { install: { device: '/dev/vda', tty: 'ttyS0' }, upgrade: { image: 'reg/os:v1' } },
    });
  });

  it('keeps "=" after the first one in the value', () => {
    expect(config('ros.install.config_url=http://h/c.yaml?a=b')).toEqual({
      ros: { install: { config_url: 'http://h/c.yaml?a=b' } },
    });
  });

  it('makes a repeated key a list in order', () => {
    expect(config('ros.dns_nameservers=1.1.1.1 ros.dns_nameservers=8.8.8.8 ros.dns_nameservers=9.9.9.9')).toEqual({
      ros: { dns_nameservers: ['1.1.1.1', '8.8.8.8', '9.9.9.9'] },
    });
    expect(config('ros.install.tty=tty1 ros.install.tty=ttyS0')).toEqual({ ros: { install: { tty: ['tty1', 'ttyS0'] } } });
  });

  it('makes list keys lists even when they appear once', () => {
    expect(config('ros.modules=dummy ros.ntp_servers=pool.ntp.org ros.data_sources=cdrom ros.dns_nameservers=1.1.1.1')).toEqual({
      ros: { modules: ['dummy'], ntp_servers: ['pool.ntp.org'], data_sources: ['cdrom'], dns_nameservers: ['1.1.1.1'] },
    });
    expect(config('ros.modules=a ros.modules=b')).toEqual({ ros: { modules: ['a', 'b'] } });
    expect(CMDLINE_LIST_KEYS).toEqual(
      expect.arrayContaining(['ros.dns_nameservers', 'ros.ntp_servers', 'ros.modules', 'ros.data_sources', 'ssh_authorized_keys']),
    );
  });

  it('reads key[sub]=value as a map entry whose sub key may hold dots', () => {
    expect(config('ros.sysctl[kernel.printk]="4 4 1 7" ros.sysctl[net.ipv4.ip_forward]=1 ros.sysctl[vm/swappiness]=10')).toEqual({
      ros: { sysctl: { 'kernel.printk': '4 4 1 7', 'net.ipv4.ip_forward': '1', 'vm/swappiness': '10' } },
    });
    expect(config('ros.environment[http_proxy]="http://p:3128" ros.environment[NO_PROXY]=a=b')).toEqual({
      ros: { environment: { http_proxy: 'http://p:3128', NO_PROXY: 'a=b' } },
    });
  });

  it('treats key.sub and key[sub] as the same entry', () => {
    expect(config('ros.sysctl.fs=1 ros.sysctl[fs]=2')).toEqual({ ros: { sysctl: { fs: ['1', '2'] } } });
  });

  it('reads a bare key as true', () => {
    expect(config('ros.install.silent ros.install.debug')).toEqual({ ros: { install: { silent: true, debug: true } } });
  });

  it('reads unquoted true and false as booleans, and keeps quoted ones and map entries as text', () => {
    expect(config('ros.install.automatic=true ros.install.power_off=false')).toEqual({
      ros: { install: { automatic: true, power_off: false } },
    });
    expect(config('ros.password="true" "ros.install.tty=false" ros.environment[DEBUG]=true ros.install.device=True')).toEqual({
      ros: { password: 'true', install: { tty: 'false', device: 'True' }, environment: { DEBUG: 'true' } },
    });
  });

  it('keeps other values as text', () => {
    expect(config('ros.sysctl.x=0644 ros.install.fallback_mode=1')).toEqual({ ros: { sysctl: { x: '0644' }, install: { fallback_mode: '1' } } });
  });

  it('accepts empty values', () => {
    expect(config('ros.install.tty= ros.environment[A]=""')).toEqual({ ros: { install: { tty: '' }, environment: { A: '' } } });
  });

  it('accepts double and single quotes around values with spaces, starting anywhere in the word', () => {
    expect(config('ros.hostname="a b"')).toEqual({ hostname: 'a b' });
    expect(config('"ros.hostname=a b"')).toEqual({ hostname: 'a b' });
    expect(config("ros.run_cmd='echo  hi there'")).toEqual({ run_cmd: ['echo  hi there'] });
    expect(config(`ros.run_cmd="echo 'single inside'" ros.boot_cmd='say "double"'`)).toEqual({
      run_cmd: ["echo 'single inside'"],
      boot_cmd: ['say "double"'],
    });
    expect(config('ros.environment[A]=x"y z"w')).toEqual({ ros: { environment: { A: 'xy zw' } } });
  });

  it('splits words at tabs and newlines too', () => {
    expect(config('quiet\tros.modules=a\nros.modules=b\n')).toEqual({ ros: { modules: ['a', 'b'] } });
  });

  it('maps top-level keys to the top level and keeps the rest under ros', () => {
    expect(
      config(
        'ros.hostname=node1 ros.ssh_authorized_keys=github:alice ros.init_cmd="echo i" ros.boot_cmd="echo b" ros.run_cmd="echo r" ros.modules=x',
      ),
    ).toEqual({
      hostname: 'node1',
      ssh_authorized_keys: ['github:alice'],
      init_cmd: ['echo i'],
      boot_cmd: ['echo b'],
      run_cmd: ['echo r'],
      ros: { modules: ['x'] },
    });
    expect(config('ros.write_files=x ros.password=secret ros.server_url=https://s')).toEqual({
      write_files: 'x',
      ros: { password: 'secret', server_url: 'https://s' },
    });
  });

  it('appends repeated command words in order', () => {
    expect(config('ros.run_cmd="echo 1" ros.run_cmd="echo 2"')).toEqual({ run_cmd: ['echo 1', 'echo 2'] });
  });

  describe('malformed words', () => {
    const cases: [string, RegExp][] = [
      ['ros.=x', /key part is empty/],
      ['ros.', /key part is empty/],
      ['ros.a..b=x', /key part is empty/],
      ['ros.a[b=c', /"\[" is not closed/],
      ['ros.a[]=c', /inside "\[...\]" is empty/],
      ['ros.a[b]c=d', /only "=value" may follow/],
      ['ros.a[b[c]]=d', /holds "\["/],
      ['ros.a$b=c', /characters other than/],
      ['ros.sysctl[__proto__]=x', /__proto__/],
      ['ros.__proto__.x=1', /__proto__/],
    ];
    for (const [word, reason] of cases) {
      it(`skips ${word} with a problem and parses the rest`, () => {
        const result = parseKernelCmdline(`ros.modules=a ${word} ros.hostname=h`);
        expect(result.config).toEqual({ ros: { modules: ['a'] }, hostname: 'h' });
        expect(result.problems).toHaveLength(1);
        expect(result.problems[0]).toContain(`'${word}'`);
        expect(result.problems[0]).toMatch(reason);
      });
    }

    it('never changes a prototype', () => {
      const result = parseKernelCmdline('ros.__proto__.polluted=1 ros.sysctl[__proto__]=x ros.constructor.x=1');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(result.config)).toBe(Object.prototype);
      expect(result.config).toEqual({ ros: { constructor: { x: '1' } } });
    });

    it('refuses a key used both as a value and a map, in either order, leaving the first', () => {
      const valueFirst = parseKernelCmdline('ros.install=x ros.install.device=/dev/vda ros.modules=m');
      expect(valueFirst.config).toEqual({ ros: { install: 'x', modules: ['m'] } });
      expect(valueFirst.problems).toEqual([
        expect.stringMatching(/'ros\.install\.device=\/dev\/vda'.*ros\.install already has a value/),
      ]);

      const mapFirst = parseKernelCmdline('ros.install.device=/dev/vda ros.install=x ros.sysctl[a]=1 ros.sysctl=2');
      expect(mapFirst.config).toEqual({ ros: { install: { device: '/dev/vda' }, sysctl: { a: '1' } } });
      expect(mapFirst.problems).toHaveLength(2);
      expect(mapFirst.problems[0]).toMatch(/'ros\.install=x'.*ros\.install is already a map/);
      expect(mapFirst.problems[1]).toMatch(/'ros\.sysctl=2'/);
    });

    it('leaves nothing behind from a refused word', () => {
      const result = parseKernelCmdline('ros.a.b=1 ros.a.b.c.d=2');
      expect(result.config).toEqual({ ros: { a: { b: '1' } } });
      expect(result.problems).toHaveLength(1);
    });

    it('refuses sub keys of a list key', () => {
      const result = parseKernelCmdline('ros.modules.x=1 ros.run_cmd[0]=ls');
      expect(result.config).toEqual({});
      expect(result.problems).toEqual([
        expect.stringMatching(/'ros\.modules\.x=1'.*ros\.modules is a list/),
        expect.stringMatching(/'ros\.run_cmd\[0\]=ls'.*run_cmd is a list/),
      ]);
    });

    it('refuses a word whose quote is not closed, which runs to the end of the line as the kernel reads it', () => {
      const result = parseKernelCmdline('ros.modules=a ros.hostname="x y ros.modules=b');
      expect(result.config).toEqual({ ros: { modules: ['a'] } });
      expect(result.problems).toEqual([expect.stringMatching(/'ros\.hostname="x y ros\.modules=b'.*quote is not closed/)]);
    });

    it('never shows a password in a problem', () => {
      const result = parseKernelCmdline('ros.password[=s3cret "ros.password=an other" ros.password.x=hunter2');
      expect(result.problems).toHaveLength(2);
      for (const problem of result.problems) {
        expect(problem).not.toMatch(/s3cret|hunter2|an other/);
        expect(problem).toContain('ros.password=(hidden)');
      }
      expect(result.config).toEqual({ ros: { password: 'an other' } });
    });
  });
});

describe('readKernelCmdline', () => {
  it('reads and parses a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cmdline-'));
    try {
      const path = join(dir, 'cmdline');
      await writeFile(path, 'BOOT_IMAGE=/vmlinuz ros.hostname=n1 ros.install.silent\n');
      expect(await readKernelCmdline(path)).toEqual({ config: { hostname: 'n1', ros: { install: { silent: true } } }, problems: [] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a file it cannot read as a problem instead of failing', async () => {
    const result = await readKernelCmdline('/nonexistent/cmdline');
    expect(result.config).toEqual({});
    expect(result.problems).toEqual([expect.stringContaining('/nonexistent/cmdline')]);
  });
});

describe('the OS boot arguments that share the prefix', () => {
  it('are neither settings nor problems', () => {
    expect(parseKernelCmdline('root=ros:LABEL=COS_STATE ros.image=active ros.fallback ros.hostname=n1')).toEqual({ config: { hostname: 'n1' }, problems: [] });
  });
});
