/** A serial log without terminal escapes (colours, cursor moves). */
export function stripEscapes(log: string): string {
  return log.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

/** The lines a clean boot must not print: a FAILED unit, an error, dmsquash-live's overlay race. */
export function errorLines(log: string): string[] {
  return stripEscapes(log)
    .split('\n')
    .filter((line) => /FAILED|\berror\b|failed to resolve/i.test(line));
}

/** What the last boot of an installed disk printed, from GRUB's last "Booting the … image" line on. */
export function lastDiskBoot(log: string): string {
  return log.slice(log.lastIndexOf('Booting the'));
}
