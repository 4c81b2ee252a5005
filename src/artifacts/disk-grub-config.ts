/**
 * An installed disk's grub.cfg (COS_GRUB:/grub/grub.cfg), rendered from
 * iso/disk-grub.cfg.hbs: entries active, passive, recovery and debug, the
 * one-shot next_entry, fallback, and GRUB's half of boot assessment.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { grubTemplateVars, renderGrubTemplate } from './grub-config.js';

export const DISK_GRUB_TEMPLATE_PATH = fileURLToPath(new URL('../../iso/disk-grub.cfg.hbs', import.meta.url));

/** A failed boot of the active image must come back to GRUB by itself, so boot assessment can choose passive. */
export const FAILURE_ARGS = 'panic=5 rd.emergency=reboot rd.shell=0';

export interface DiskGrubInput {
  title: string;
  /** The spec's command line and consoles, plus the format's own arguments. */
  cmdline: string;
  timeoutSeconds: number;
}

export function renderDiskGrubConfig(input: DiskGrubInput): string {
  // The same checks as the ISO's (no control characters, a sane timeout); the label is fixed.
  const vars = grubTemplateVars({ ...input, label: 'COS_STATE' });
  return renderGrubTemplate(readFileSync(DISK_GRUB_TEMPLATE_PATH, 'utf8'), {
    title: vars.title,
    cmdline: vars.cmdline,
    debugCmdline: vars.debugCmdline,
    failureArgs: FAILURE_ARGS,
    timeoutSeconds: vars.timeoutSeconds,
  });
}
