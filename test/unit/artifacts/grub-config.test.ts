import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import {
  DEFAULT_GRUB_TEMPLATE_PATH,
  grubQuote,
  renderGrubConfig,
  renderGrubTemplate,
} from '../../../src/artifacts/grub-config.js';
import { scratchDirs } from '../../helpers/scratch.js';

const tempDir = scratchDirs();

const input = { title: 'RancherOS live', label: 'ROS_LIVE', cmdline: 'console=tty0 console=ttyS0,115200', timeoutSeconds: 5 };

/** The lines of one menuentry block, by its --id. */
function entry(cfg: string, id: string): string[] {
  const start = cfg.split('\n').findIndex((l) => l.startsWith('menuentry ') && l.includes(`--id ${id} {`));
  expect(start, `menuentry ${id}`).toBeGreaterThanOrEqual(0);
  const lines = cfg.split('\n').slice(start);
  return lines.slice(0, lines.indexOf('}') + 1).map((l) => l.trim());
}

describe('grub.cfg', () => {
  const cfg = renderGrubConfig(input);

  it('is rendered from iso/grub.cfg.hbs at the repository root', () => {
    expect(DEFAULT_GRUB_TEMPLATE_PATH).toMatch(/\/iso\/grub\.cfg\.hbs$/);
    expect(DEFAULT_GRUB_TEMPLATE_PATH).not.toMatch(/\/(src|dist)\//);
  });

  it('talks on the serial port and the console', () => {
    const lines = cfg.split('\n');
    expect(lines).toContain('serial --unit=0 --speed=115200');
    expect(lines).toContain('terminal_input serial console');
    expect(lines).toContain('terminal_output serial console');
    expect(lines.indexOf('serial --unit=0 --speed=115200')).toBeLessThan(lines.indexOf('terminal_input serial console'));
  });

  it('waits the given timeout, 3 seconds by default, and boots the first entry', () => {
    expect(cfg.split('\n')).toContain('set timeout=5');
    expect(cfg.split('\n')).toContain('set default=0');
    expect(renderGrubConfig({ ...input, timeoutSeconds: undefined }).split('\n')).toContain('set timeout=3');
    expect(renderGrubConfig({ ...input, timeoutSeconds: 0 }).split('\n')).toContain('set timeout=0');
  });

  it('boots the live kernel from the medium with the label, the live flag and the user cmdline', () => {
    const live = entry(cfg, 'live');
    expect(live[0]).toBe("menuentry 'RancherOS live' --id live {");
    // Said on the console before booting: with quiet the kernel does not print its command line.
    expect(live).toContain('echo "Booting: root=live:CDLABEL=ROS_LIVE rd.live.image rd.live.overlay.overlayfs=1 console=tty0 console=ttyS0,115200"');
    // The initrd only after the kernel loaded (a refused kernel must fail the entry, not crash GRUB).
    expect(live.slice(-4)).toEqual([
      'if ${linux} /boot/vmlinuz root=live:CDLABEL=ROS_LIVE rd.live.image rd.live.overlay.overlayfs=1 console=tty0 console=ttyS0,115200; then',
      '${initrd} /boot/initrd',
      'fi',
      '}',
    ]);
    // The default entry is the first one.
    expect(cfg.indexOf('--id live {')).toBeLessThan(cfg.indexOf('--id live-debug {'));
  });

  it('has an install entry: the live system with ros.install.automatic=true, after the default', () => {
    const install = entry(cfg, 'install');
    expect(install[0]).toBe("menuentry 'RancherOS live (install)' --id install {");
    expect(install.slice(-4)).toEqual([
      'if ${linux} /boot/vmlinuz root=live:CDLABEL=ROS_LIVE rd.live.image rd.live.overlay.overlayfs=1 console=tty0 console=ttyS0,115200 ros.install.automatic=true; then',
      '${initrd} /boot/initrd',
      'fi',
      '}',
    ]);
    expect(cfg.indexOf('--id live {')).toBeLessThan(cfg.indexOf('--id install {'));
  });

  it('has a debug entry that adds debug logging and drops quiet', () => {
    const debug = entry(renderGrubConfig({ ...input, cmdline: `quiet ${input.cmdline}` }), 'live-debug');
    expect(debug[0]).toBe("menuentry 'RancherOS live (debug)' --id live-debug {");
    expect(debug[1]).toBe(
      'if ${linux} /boot/vmlinuz root=live:CDLABEL=ROS_LIVE rd.live.image rd.live.overlay.overlayfs=1 console=tty0 console=ttyS0,115200 rd.debug systemd.log_level=debug; then',
    );
    expect(debug[2]).toBe('${initrd} /boot/initrd');
  });

  it('does not HTML-escape and quotes the title for GRUB', () => {
    const out = renderGrubConfig({ ...input, title: `Tom's <OS> & "more"`, cmdline: 'a=<b> c="d e"' });
    expect(entry(out, 'live')[0]).toBe(`menuentry 'Tom'\\''s <OS> & "more"' --id live {`);
    expect(entry(out, 'live').find((line) => line.startsWith('if ${linux} '))).toContain(' a=<b> c="d e"');
    expect(out).not.toContain('&amp;');
    expect(out).not.toContain('&lt;');
  });

  it('rejects a bad label, a multi-line cmdline or title and a bad timeout', () => {
    expect(() => renderGrubConfig({ ...input, label: 'ros live' })).toThrow(UserError);
    expect(() => renderGrubConfig({ ...input, cmdline: 'quiet\nlinux /evil' })).toThrow(/one line/);
    expect(() => renderGrubConfig({ ...input, title: 'a\nb' })).toThrow(/control characters/);
    expect(() => renderGrubConfig({ ...input, timeoutSeconds: -1 })).toThrow(/timeout/);
    expect(() => renderGrubConfig({ ...input, timeoutSeconds: 1.5 })).toThrow(/timeout/);
  });
});

describe('GRUB template rendering', () => {
  it('fails on a variable the template uses but the input lacks', () => {
    expect(() => renderGrubTemplate('set timeout={{timeoutSeconds}}\n{{missing}}\n', { timeoutSeconds: 3 })).toThrow(/missing/);
    // Strict mode does not reach helper arguments; the helper checks them itself.
    expect(() => renderGrubTemplate('set default=0\nmenuentry {{grubQuote nope}} {', {})).toThrow(/not defined at line 2, column 10/);
  });

  it('fails for a custom template with a variable renderGrubConfig does not supply, naming the template', () => {
    const dir = tempDir('grubcfg-');
    const path = join(dir, 'custom.hbs');
    writeFileSync(path, 'linux /boot/vmlinuz {{cmdline}} {{kernelFlavour}}\n');
    expect(() => renderGrubConfig(input, path)).toThrow(/custom\.hbs.*kernelFlavour/s);
    writeFileSync(path, 'linux /boot/vmlinuz {{cmdline}}\n');
    expect(renderGrubConfig(input, path)).toBe('linux /boot/vmlinuz console=tty0 console=ttyS0,115200\n');
  });

  it('quotes GRUB words with single quotes', () => {
    expect(grubQuote('plain')).toBe("'plain'");
    expect(grubQuote("it's $x")).toBe(`'it'\\''s $x'`);
  });
});
