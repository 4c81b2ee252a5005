/**
 * A digest of a disk's content, from which formats derive the identifiers
 * they would otherwise make up at random (the VHD's UUID, the VMDK's CID):
 * the same disk gives the same file, another disk another identifier.
 *
 * All-zero chunks are skipped rather than hashed. A raw disk is mostly holes,
 * which read as zeros at memory speed, so this costs about what the data
 * costs (0.3 s for a 1 GiB disk holding a few MiB here; hashing every byte
 * took 3-4 s per GiB). Each non-zero chunk is hashed with its offset, and the
 * size at the end, so moving data or growing the disk changes the digest.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK = 1024 * 1024;

export async function digestDiskContent(path: string): Promise<Buffer> {
  const hash = createHash('sha256').update('ros-build disk content v1\0');
  const buffer = Buffer.alloc(CHUNK);
  const zeros = Buffer.alloc(CHUNK);
  const offsetBytes = Buffer.alloc(8);
  const file = await open(path, 'r');
  try {
    let offset = 0;
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, CHUNK, offset);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      if (!chunk.equals(zeros.subarray(0, bytesRead))) {
        offsetBytes.writeBigUInt64BE(BigInt(offset));
        hash.update(offsetBytes).update(chunk);
      }
      offset += bytesRead;
    }
    offsetBytes.writeBigUInt64BE(BigInt(offset));
    hash.update('size\0').update(offsetBytes);
  } finally {
    await file.close();
  }
  return hash.digest();
}

/** `length` bytes derived from the content digest for one purpose (so two identifiers never coincide). */
export function deriveId(contentDigest: Buffer, purpose: string, length: number): Buffer {
  return createHash('sha256').update(purpose).update('\0').update(contentDigest).digest().subarray(0, length);
}
