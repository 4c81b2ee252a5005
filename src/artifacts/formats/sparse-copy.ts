import { runCommand } from '../../exec/run.js';
import { writeAtomically } from '../../fsutil/atomic.js';
import { buildSparseCopyArgs } from '../../tools/cp.js';
import type { ConvertInput } from './format.js';
import { checkEpoch, checkRawDisk } from './raw-disk.js';

/**
 * Copy the raw disk to outPath, holes kept. Shares blocks where the file
 * system can (reflink): the bytes are the same either way.
 */
export async function copyRawDisk({ rawPath, outPath, epoch, logPath }: ConvertInput): Promise<void> {
  await checkRawDisk(rawPath);
  checkEpoch(epoch);
  await writeAtomically(outPath, async (tmpPath) => {
    await runCommand('cp', buildSparseCopyArgs({ source: rawPath, destination: tmpPath, reflink: 'auto' }), { logPath });
  });
}
