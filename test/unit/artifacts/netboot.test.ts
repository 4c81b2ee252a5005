import { describe, expect, it } from 'vitest';
import { netbootCmdline, parseBaseUrl, renderIpxeScript } from '../../../src/artifacts/netboot.js';
import { UserError } from '../../../src/errors.js';

describe('parseBaseUrl', () => {
  it('takes an http(s) directory URL, without its trailing slash', () => {
    expect(parseBaseUrl('http://10.0.2.2:8080/')).toBe('http://10.0.2.2:8080');
    expect(parseBaseUrl('https://boot.example.com/ros/v1/')).toBe('https://boot.example.com/ros/v1');
  });

  it('refuses what iPXE or the kernel command line cannot carry, naming the flag', () => {
    expect(() => parseBaseUrl('10.0.2.2:8080')).toThrow(UserError);
    expect(() => parseBaseUrl('tftp://10.0.2.2/')).toThrow(/--url tftp:\/\/10\.0\.2\.2\/: tftp cannot serve a network boot/);
    expect(() => parseBaseUrl('http://x/?a=1')).toThrow(/no query/);
    expect(() => parseBaseUrl('not a url')).toThrow(/is not a URL/);
  });
});

describe('renderIpxeScript', () => {
  const script = renderIpxeScript('http://10.0.2.2:8080', 'console=ttyS0 ros.install.device=/dev/vda');

  it('loads the kernel with the live arguments, then both initrds, from the base URL', () => {
    expect(script.startsWith('#!ipxe\n')).toBe(true);
    expect(script).toContain('kernel http://10.0.2.2:8080/vmlinuz initrd=initrd initrd=medium.cpio root=live:http://10.0.2.2:8080/rootfs.squashfs rd.live.image rd.live.overlay.overlayfs=1 rd.neednet=1 ip=dhcp console=ttyS0 ros.install.device=/dev/vda || goto failed');
    expect(script.indexOf('initrd http://10.0.2.2:8080/initrd ')).toBeLessThan(script.indexOf('initrd http://10.0.2.2:8080/medium.cpio '));
  });

  it('names the URL and stops at the shell when a fetch fails, instead of rebooting into a loop', () => {
    expect(script).toMatch(/:failed\necho ros: network boot failed: could not fetch or boot the files at http:\/\/10\.0\.2\.2:8080\/ .*\nshell\n/);
  });

  it('puts the spec\'s and the user\'s arguments after the live ones', () => {
    expect(netbootCmdline('http://h', '')).toBe('root=live:http://h/rootfs.squashfs rd.live.image rd.live.overlay.overlayfs=1 rd.neednet=1 ip=dhcp');
  });
});
