/**
 * An OCI image's layers merged into one root file system tar, as an
 * overlay mount would show them, without unpacking anything to disk: layers
 * are read top first, so the first time a path is seen is its final version,
 * and everything an upper layer deletes (a `.wh.NAME` whiteout), hides (a
 * `.wh..wh..opq` opaque directory) or replaces with a non-directory is left
 * out of the layers below. Entries pass through byte for byte, pax records
 * (xattrs such as security.capability) included.
 */
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { asRegularFile, BLOCK, isZeroBlock, paddedSize, parseHeader, parsePaxRecord } from './tar-header.js';
import { normalizePath } from './rules.js';

export interface LayerSource {
  /** Names the layer in errors. */
  name: string;
  /** The layer's uncompressed tar. */
  open: () => Promise<Readable>;
}

export interface FlattenStats {
  entries: number;
  /** Entries of lower layers left out (replaced, deleted or hidden above them). */
  hidden: number;
}

/**
 * A hard link's target may be replaced or deleted by an upper layer while the
 * link itself survives; the link must then keep the lower layer's content, so
 * files hidden in a layer are kept in memory up to this much, in case a link
 * later in the same layer needs them.
 */
const SHADOWED_BUDGET = 64 << 20;

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** Write the merged tar of `layersTopFirst` (the manifest's order reversed) to `output`, and end it. */
export async function flattenLayers(layersTopFirst: readonly LayerSource[], output: Writable): Promise<FlattenStats> {
  const upper = new UpperLayers();
  const stats: FlattenStats = { entries: 0, hidden: 0 };
  for (const layer of layersTopFirst) {
    const stream = await layer.open();
    try {
      await mergeLayer(layer.name, new ByteReader(stream), upper, output, stats);
    } finally {
      stream.destroy();
    }
  }
  await write(output, Buffer.alloc(2 * BLOCK));
  output.end();
  return stats;
}

/** What the layers above the current one decided. */
class UpperLayers {
  readonly seen = new Set<string>();
  readonly nonDirectories = new Set<string>();
  readonly whiteouts = new Set<string>();
  readonly opaque = new Set<string>();

  hides(path: string): boolean {
    if (this.seen.has(path) || this.whiteouts.has(path)) return true;
    if (path !== '' && this.opaque.has('')) return true;
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      const ancestor = path.slice(0, slash);
      if (this.whiteouts.has(ancestor) || this.opaque.has(ancestor) || this.nonDirectories.has(ancestor)) return true;
    }
    return false;
  }
}

async function mergeLayer(name: string, reader: ByteReader, upper: UpperLayers, output: Writable, stats: FlattenStats): Promise<void> {
  // A layer's own whiteouts apply to the layers below it, not to itself.
  const mine = new UpperLayers();
  const shadowed = new Map<string, Buffer>();
  let budget = SHADOWED_BUDGET;
  let meta: Buffer[] = [];
  let metaPath: string | undefined;
  let metaLink: string | undefined;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block.length === 0) break;
    if (block.length < BLOCK) throw new Error(`layer ${name} ends in the middle of a tar header (truncated)`);
    if (isZeroBlock(block)) break;
    const header = parseHeader(block);
    const dataBytes = paddedSize(header.size);
    if (header.type === 'x' || header.type === 'L' || header.type === 'K') {
      const data = await reader.readExactly(dataBytes, name);
      const content = data.subarray(0, header.size);
      if (header.type === 'x') {
        metaPath = parsePaxRecord(content, 'path') ?? metaPath;
        metaLink = parsePaxRecord(content, 'linkpath') ?? metaLink;
      } else {
        const text = content.toString('utf8').replace(/\0.*$/s, '');
        if (header.type === 'L') metaPath = text;
        else metaLink = text;
      }
      meta.push(block, data);
      continue;
    }
    const path = normalizePath(metaPath ?? header.name);
    const linkTarget = normalizePath(metaLink ?? header.linkname);
    const entryMeta = meta;
    meta = [];
    metaPath = metaLink = undefined;
    if (header.type === 'g') {
      await reader.skip(dataBytes, name);
      continue;
    }
    const slash = path.lastIndexOf('/');
    const base = path.slice(slash + 1);
    const dir = slash === -1 ? '' : path.slice(0, slash);
    if (base.startsWith(WHITEOUT)) {
      if (base === OPAQUE) mine.opaque.add(dir);
      else if (!base.startsWith(`${WHITEOUT}${WHITEOUT}`)) mine.whiteouts.add(dir ? `${dir}/${base.slice(WHITEOUT.length)}` : base.slice(WHITEOUT.length));
      await reader.skip(dataBytes, name);
      continue;
    }
    const regular = header.type === '0' || header.type === '\0' || header.type === '7';
    if (upper.hides(path)) {
      stats.hidden++;
      if (regular && header.size <= budget) {
        shadowed.set(path, (await reader.readExactly(dataBytes, name)).subarray(0, header.size));
        budget -= header.size;
      } else {
        await reader.skip(dataBytes, name);
      }
      continue;
    }
    if (header.type === '1' && !mine.seen.has(linkTarget)) {
      const content = shadowed.get(linkTarget);
      if (!content) {
        throw new Error(
          `layer ${name}: ${path} is a hard link to ${linkTarget}, which a later layer replaced or deleted and which was too large to keep; build the image with that change squashed into the layer that made the link`,
        );
      }
      // Keep the pax records (xattrs) but no GNU long-link record: the entry is no longer a link.
      for (let i = 0; i < entryMeta.length; i += 2) if (parseHeader(entryMeta[i]!).type !== 'K') await write(output, Buffer.concat([entryMeta[i]!, entryMeta[i + 1]!]));
      await write(output, asRegularFile(block, content.length));
      await write(output, Buffer.concat([content, Buffer.alloc(paddedSize(content.length) - content.length)]));
      await reader.skip(dataBytes, name);
    } else {
      for (const part of entryMeta) await write(output, part);
      await write(output, block);
      await reader.copy(dataBytes, output, name);
    }
    stats.entries++;
    mine.seen.add(path);
    if (header.type !== '5') mine.nonDirectories.add(path);
  }
  // Read to the end, so a digest check at the end of the stream runs.
  await reader.drain();
  for (const key of ['seen', 'nonDirectories', 'whiteouts', 'opaque'] as const) for (const path of mine[key]) upper[key].add(path);
}

async function write(output: Writable, chunk: Buffer): Promise<void> {
  if (!output.write(chunk)) await once(output, 'drain');
}

/** Exact-size reads from a stream, for a parser that must know where each block ends. */
class ByteReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;

  constructor(stream: Readable) {
    this.iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** `length` bytes, fewer only where the stream ends. */
  async read(length: number): Promise<Buffer> {
    while (this.buffered < length && (await this.pull()));
    return this.take(Math.min(length, this.buffered));
  }

  async readExactly(length: number, layer: string): Promise<Buffer> {
    const bytes = await this.read(length);
    if (bytes.length < length) throw new Error(`layer ${layer} ends in the middle of an entry (truncated)`);
    return bytes;
  }

  /** Pass `length` bytes to `output` as they arrive, never holding more than a chunk. */
  async copy(length: number, output: Writable, layer: string): Promise<void> {
    await this.consume(length, layer, (part) => write(output, part));
  }

  async skip(length: number, layer: string): Promise<void> {
    await this.consume(length, layer, async () => {});
  }

  async drain(): Promise<void> {
    while (await this.pull()) this.take(this.buffered);
  }

  private async consume(length: number, layer: string, use: (part: Buffer) => Promise<void>): Promise<void> {
    let left = length;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.pull())) throw new Error(`layer ${layer} ends in the middle of an entry (truncated)`);
      const part = this.take(Math.min(left, this.chunks[0]!.length));
      left -= part.length;
      await use(part);
    }
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.iterator.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.chunks.push(next.value);
    this.buffered += next.value.length;
    return true;
  }

  private take(length: number): Buffer {
    if (length === 0) return Buffer.alloc(0);
    let taken: Buffer;
    if (this.chunks[0]!.length >= length) {
      taken = this.chunks[0]!.subarray(0, length);
      this.chunks[0] = this.chunks[0]!.subarray(length);
      if (this.chunks[0].length === 0) this.chunks.shift();
    } else {
      const all = Buffer.concat(this.chunks);
      taken = all.subarray(0, length);
      this.chunks = all.length > length ? [all.subarray(length)] : [];
    }
    this.buffered -= length;
    return taken;
  }
}
