/**
 * Exchange two directories of a FAT file system in one sector write: the two
 * directory entries trade their first clusters, so `BOOT` names what was
 * `NEWBOOT` and the other way round. A power cut leaves either the old tree
 * or the new one under the name the firmware reads, never a mix: a single
 * sector is written whole or not at all. Both entries must lie in one sector
 * (a small directory such as an ESP's EFI/ always does); otherwise nothing is
 * written and the caller is told.
 */
import { open, type FileHandle } from 'node:fs/promises';

interface FatGeometry {
  bytesPerSector: number;
  bytesPerCluster: number;
  fatOffset: number;
  type: 12 | 16 | 32;
  /** FAT12/16: the fixed root directory's byte range; FAT32: undefined (the root is a cluster chain). */
  fixedRoot?: { offset: number; bytes: number };
  rootCluster: number;
  dataOffset: number;
}

interface DirectoryEntry {
  name: string;
  offset: number;
  cluster: number;
  directory: boolean;
}

const ENTRY = 32;

/** Swap the first clusters of the directories `a` and `b` inside the directory `parent` (names 8.3, upper case, as on disk). */
export async function swapDirectories(device: string, parent: readonly string[], a: string, b: string): Promise<void> {
  const file = await open(device, 'r+');
  try {
    const geometry = await readGeometry(file);
    let entries = await readDirectory(file, geometry, undefined);
    for (const name of parent) {
      const dir = entries.find((e) => e.name === name && e.directory);
      if (!dir) throw new Error(`no directory ${parent.join('/')} on ${device}`);
      entries = await readDirectory(file, geometry, dir.cluster);
    }
    const find = (name: string) => {
      const entry = entries.find((e) => e.name === name && e.directory);
      if (!entry) throw new Error(`no directory ${[...parent, name].join('/')} on ${device}`);
      return entry;
    };
    const first = find(a);
    const second = find(b);
    const sector = Math.floor(first.offset / geometry.bytesPerSector);
    if (sector !== Math.floor(second.offset / geometry.bytesPerSector)) {
      throw new Error(`${[...parent, a].join('/')} and ${[...parent, b].join('/')} are not in one sector of their directory, so they cannot trade places in one write`);
    }
    const sectorOffset = sector * geometry.bytesPerSector;
    const data = Buffer.alloc(geometry.bytesPerSector);
    await file.read(data, 0, data.length, sectorOffset);
    writeCluster(data, first.offset - sectorOffset, second.cluster, geometry.type);
    writeCluster(data, second.offset - sectorOffset, first.cluster, geometry.type);
    await file.write(data, 0, data.length, sectorOffset);
    await file.sync();
  } finally {
    await file.close();
  }
}

async function readGeometry(file: FileHandle): Promise<FatGeometry> {
  const boot = Buffer.alloc(512);
  await file.read(boot, 0, 512, 0);
  if (boot.readUInt16LE(510) !== 0xaa55) throw new Error('not a FAT file system (no boot sector signature)');
  const bytesPerSector = boot.readUInt16LE(11);
  const sectorsPerCluster = boot.readUInt8(13);
  const reserved = boot.readUInt16LE(14);
  const fats = boot.readUInt8(16);
  const rootEntries = boot.readUInt16LE(17);
  const totalSectors = boot.readUInt16LE(19) || boot.readUInt32LE(32);
  const fatSectors = boot.readUInt16LE(22) || boot.readUInt32LE(36);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector) || sectorsPerCluster === 0 || fats === 0) throw new Error('not a FAT file system (bad BIOS parameter block)');
  const rootSectors = Math.ceil((rootEntries * ENTRY) / bytesPerSector);
  const firstData = reserved + fats * fatSectors + rootSectors;
  const clusters = Math.floor((totalSectors - firstData) / sectorsPerCluster);
  const type = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  return {
    bytesPerSector,
    bytesPerCluster: bytesPerSector * sectorsPerCluster,
    fatOffset: reserved * bytesPerSector,
    type,
    fixedRoot: type === 32 ? undefined : { offset: (reserved + fats * fatSectors) * bytesPerSector, bytes: rootSectors * bytesPerSector },
    rootCluster: type === 32 ? boot.readUInt32LE(44) : 0,
    dataOffset: firstData * bytesPerSector,
  };
}

/** The entries of a directory: the root (cluster undefined) or the chain starting at `cluster`. */
async function readDirectory(file: FileHandle, geometry: FatGeometry, cluster: number | undefined): Promise<DirectoryEntry[]> {
  const ranges: Array<{ offset: number; bytes: number }> = [];
  if (cluster === undefined && geometry.fixedRoot) ranges.push(geometry.fixedRoot);
  else for (const c of await readChain(file, geometry, cluster ?? geometry.rootCluster)) ranges.push({ offset: geometry.dataOffset + (c - 2) * geometry.bytesPerCluster, bytes: geometry.bytesPerCluster });
  const entries: DirectoryEntry[] = [];
  for (const range of ranges) {
    const data = Buffer.alloc(range.bytes);
    await file.read(data, 0, range.bytes, range.offset);
    for (let at = 0; at < range.bytes; at += ENTRY) {
      const first = data[at]!;
      if (first === 0) return entries;
      const attributes = data[at + 11]!;
      if (first === 0xe5 || attributes === 0x0f || attributes & 0x08) continue;
      const name = `${data.toString('latin1', at, at + 8).trimEnd()}${data[at + 8] === 0x20 ? '' : `.${data.toString('latin1', at + 8, at + 11).trimEnd()}`}`;
      const high = geometry.type === 32 ? data.readUInt16LE(at + 20) : 0;
      entries.push({ name, offset: range.offset + at, cluster: (high << 16) | data.readUInt16LE(at + 26), directory: (attributes & 0x10) !== 0 });
    }
  }
  return entries;
}

async function readChain(file: FileHandle, geometry: FatGeometry, start: number): Promise<number[]> {
  const chain: number[] = [];
  const end = geometry.type === 32 ? 0x0ffffff8 : geometry.type === 16 ? 0xfff8 : 0xff8;
  for (let cluster = start; cluster >= 2 && cluster < end; cluster = await readFatEntry(file, geometry, cluster)) {
    if (chain.length > 1 << 20 || chain.includes(cluster)) throw new Error('FAT cluster chain loops: run fsck.vfat on the ESP');
    chain.push(cluster);
  }
  return chain;
}

async function readFatEntry(file: FileHandle, geometry: FatGeometry, cluster: number): Promise<number> {
  const bytes = Buffer.alloc(4);
  if (geometry.type === 32) {
    await file.read(bytes, 0, 4, geometry.fatOffset + cluster * 4);
    return bytes.readUInt32LE(0) & 0x0fffffff;
  }
  if (geometry.type === 16) {
    await file.read(bytes, 0, 2, geometry.fatOffset + cluster * 2);
    return bytes.readUInt16LE(0);
  }
  const at = Math.floor(cluster * 1.5);
  await file.read(bytes, 0, 2, geometry.fatOffset + at);
  const pair = bytes.readUInt16LE(0);
  return cluster % 2 === 0 ? pair & 0xfff : pair >> 4;
}

function writeCluster(sector: Buffer, at: number, cluster: number, type: 12 | 16 | 32): void {
  if (type === 32) sector.writeUInt16LE(cluster >>> 16, at + 20);
  sector.writeUInt16LE(cluster & 0xffff, at + 26);
}
