/** The lines `ros-build prune` prints: one per thing removed, then what stayed and the space reclaimed. */
import { relative, isAbsolute } from 'node:path';
import { formatBytes } from '../format-bytes.js';
import { shortKey } from '../plan/keys.js';
import type { KeepReason } from './prune.js';
import type { SweepReport } from './sweep.js';


/** Paths under the working directory are shown relative to it: shorter, and what the user typed. */
function showPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function line(verb: string, what: string, name: string, size?: string, note?: string): string {
  return `${verb.padEnd(12)} ${what.padEnd(6)} ${name}${size ? `  ${size}` : ''}${note ? `  (${note})` : ''}\n`;
}

const REASON_TEXT: Record<KeepReason, string> = {
  wanted: 'used by this spec',
  'in use': 'in use by a running build',
  container: 'used by a container',
  held: 'held by other images',
};

function summarizeKept(report: SweepReport): string[] {
  const parts: string[] = [];
  for (const reason of Object.keys(REASON_TEXT) as KeepReason[]) {
    const images = report.keptImages.filter((k) => k.reason === reason).length;
    const dirs = report.keptDirs.filter((k) => k.reason === reason).length;
    const records = report.keptRecords.filter((k) => k.reason === reason).length;
    const counts = [images && plural(images, 'image'), dirs && plural(dirs, 'directory', 'directories'), records && plural(records, 'record')].filter(Boolean);
    if (!counts.length) continue;
    let text = `${counts.join(', ')} ${REASON_TEXT[reason]}`;
    if (reason === 'held') {
      const holders = [...new Set(report.keptImages.flatMap((k) => (k.heldBy ? [k.heldBy] : [])))];
      text += ` (${holders.slice(0, 3).join(', ')}${holders.length > 3 ? ', …' : ''})`;
    }
    if (reason === 'in use' && report.runningBuilds.length) text += ` (pid ${report.runningBuilds.join(', ')})`;
    parts.push(text);
  }
  return parts;
}

export function formatSweepReport(report: SweepReport, cwd = process.cwd()): string {
  const would = report.dryRun;
  let out = '';
  for (const image of report.images) {
    const verb = image.outcome;
    const note = image.outcome.endsWith('untag') || image.outcome === 'untagged' ? 'the image stays: another tag or a child image holds it' : undefined;
    for (const tag of image.tags) out += line(verb, 'image', tag, formatBytes(image.bytes), note);
  }
  for (const refused of report.refused) out += line('refused', 'image', refused.tags.join(' '), undefined, `engine: ${refused.message}`);
  for (const dir of report.dirs) out += line(would ? 'would remove' : 'removed', 'dir', showPath(dir.path, cwd), formatBytes(dir.bytes));
  for (const record of report.records) out += line(would ? 'would forget' : 'forgot', 'record', showPath(record.path, cwd), undefined, `key ${shortKey(record.key)}`);
  if (report.rest) {
    const name = `${showPath(report.rest.path, cwd)} (the rest: scratch directories, records)`;
    if (report.rest.heldByBuilds) out += line('kept', 'dir', name, undefined, `builds are running: pid ${report.runningBuilds.join(', ')}`);
    else out += line(would ? 'would remove' : 'removed', 'dir', name, formatBytes(report.rest.bytes));
  }
  if (!out) out = 'nothing to remove\n';
  const kept = summarizeKept(report);
  if (kept.length) out += `kept: ${kept.join('; ')}\n`;
  if (report.staleInUseRemoved) out += `removed ${plural(report.staleInUseRemoved, 'stale in-use file')} of builds that are gone\n`;
  const total = report.imageBytes + report.dirBytes;
  const split = `images ${formatBytes(report.imageBytes)}, directories ${formatBytes(report.dirBytes)}`;
  out += would ? `would reclaim about ${formatBytes(total)} (${split})\n` : `reclaimed ${formatBytes(total)} (${split})\n`;
  return out;
}
