/**
 * The kernel command lines of the media, in one place: the ISO's live
 * entries, each disk format's, and the installed disk the ISO carries for
 * `ros install` (a raw disk's, as `ros-build disk --format raw` writes it).
 */
import { renderDiskGrubConfig } from '../../artifacts/disk-grub-config.js';
import { DISK_FORMATS, platformCmdline } from '../../artifacts/formats/index.js';
import type { DiskFormat } from '../../artifacts/formats/format.js';
import type { BuildEnv } from '../env.js';

/** The kernel command line every boot entry gets (live and disk): the spec's, plus its consoles (the last is /dev/console). */
export function specCmdline(env: BuildEnv): string {
  return [env.spec.boot.cmdline, ...env.spec.boot.consoles.map((c) => `console=${c}`)].filter(Boolean).join(' ');
}

/** A disk format's command line: the spec's and the platform's own arguments (vhd: rootdelay, ami: nvme timeout …). */
export function diskCmdline(env: BuildEnv, format: Pick<DiskFormat, 'name' | 'cmdline' | 'serialConsole'>): string {
  return [specCmdline(env), ...platformCmdline(format, env.spec.boot.consoles)].filter(Boolean).join(' ');
}

/** The grub.cfg `ros install` puts on a disk: the raw disk's, with the spec's title and timeout. */
export function renderInstallGrubConfig(env: BuildEnv): string {
  return renderDiskGrubConfig({ title: env.spec.boot.title, cmdline: diskCmdline(env, DISK_FORMATS.raw), timeoutSeconds: env.spec.boot.timeout });
}
