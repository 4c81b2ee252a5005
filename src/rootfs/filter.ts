import { Transform, type TransformCallback } from 'node:stream';
import { BLOCK, clampHeaderMtime, encodeEntry, isZeroBlock, paddedSize, parseHeader, parsePaxPath } from './tar-header.js';
import { classifyEntry, matchBootFile, normalizePath, REPLACEMENTS, type BootFileKind } from './rules.js';

export interface BootFile {
  kind: BootFileKind;
  version: string;
  /** Where the image has it (no leading slash). */
  path: string;
  content: Buffer;
}

type State =
  | { kind: 'header' }
  | { kind: 'meta'; remaining: number; header: Buffer; chunks: Buffer[]; metaType: string }
  | { kind: 'data'; remaining: number; padding: number; emit: boolean; capture?: { kind: BootFileKind; version: string; path: string; chunks: Buffer[]; size: number } }
  | { kind: 'trailer' };

/**
 * Filter a container export on the fly, block by block, without decoding and
 * re-encoding entries: pax records (xattrs such as security.capability) and
 * everything else we keep pass through byte for byte, but for mtimes newer
 * than the build's epoch, which are clamped to it (reproducible exports). Docker's init-layer files
 * are dropped or replaced; kernels and initramfs images in /boot are captured
 * on the way, so one pass feeds both squashfs and the boot files.
 */
export class RootfsFilter extends Transform {
  readonly bootFiles: BootFile[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private state: State = { kind: 'header' };
  private metaBlocks: Buffer[] = [];
  private metaPath: string | undefined;
  private entries = 0;
  private readonly replaced = new Set<string>();

  constructor(private readonly mtime = Math.floor(Date.now() / 1000)) {
    super();
  }

  get entryCount(): number {
    return this.entries;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    try {
      this.consume();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state.kind !== 'trailer' && (this.state.kind !== 'header' || this.pending.length > 0)) {
      callback(new Error('container export ended in the middle of a tar entry (truncated stream)'));
      return;
    }
    if (this.pending.length) this.push(this.pending);
    callback();
  }

  private consume(): void {
    while (this.pending.length > 0) {
      const state = this.state;
      if (state.kind === 'trailer') {
        this.push(this.pending);
        this.pending = Buffer.alloc(0);
        return;
      }
      if (state.kind === 'data') {
        if (!this.consumeData(state)) return;
        continue;
      }
      if (state.kind === 'meta') {
        if (this.pending.length < state.remaining) return;
        const data = this.takeBytes(state.remaining);
        this.finishMeta(state, data);
        continue;
      }
      if (this.pending.length < BLOCK) return;
      this.startEntry(this.takeBytes(BLOCK));
    }
  }

  private takeBytes(length: number): Buffer {
    const taken = this.pending.subarray(0, length);
    this.pending = this.pending.subarray(length);
    return taken;
  }

  private startEntry(block: Buffer): void {
    if (isZeroBlock(block)) {
      // Missing from the source (layers): added, so every image has them.
      for (const [path, entry] of Object.entries(REPLACEMENTS)) if (!this.replaced.has(path)) this.push(encodeEntry({ ...entry, name: path, mtime: this.mtime }));
      this.push(block);
      this.state = { kind: 'trailer' };
      return;
    }
    const header = parseHeader(block);
    if (header.type === 'x' || header.type === 'L' || header.type === 'K' || header.type === 'g') {
      this.state = { kind: 'meta', remaining: paddedSize(header.size), header: block, chunks: [], metaType: header.type };
      return;
    }
    this.entries++;
    const path = normalizePath(this.metaPath ?? header.name);
    const meta = this.metaBlocks;
    this.metaBlocks = [];
    this.metaPath = undefined;
    const padding = paddedSize(header.size) - header.size;
    const decision = classifyEntry(path);
    if (decision.action === 'keep') {
      for (const part of meta) this.push(part);
      this.push(clampHeaderMtime(block, this.mtime));
      const boot = header.type === '0' || header.type === '\0' ? matchBootFile(path) : undefined;
      this.state = {
        kind: 'data',
        remaining: header.size,
        padding,
        emit: true,
        capture: boot ? { ...boot, path, chunks: [], size: header.size } : undefined,
      };
    } else {
      if (decision.action === 'replace') {
        this.push(encodeEntry({ ...decision.entry, name: path, mtime: this.mtime }));
        this.replaced.add(path);
      }
      this.state = { kind: 'data', remaining: header.size, padding, emit: false };
    }
    if (header.size === 0 && padding === 0) this.finishData(this.state);
  }

  private finishMeta(state: Extract<State, { kind: 'meta' }>, data: Buffer): void {
    const size = parseHeader(state.header).size;
    if (state.metaType === 'g') {
      // Global headers apply to the whole archive: always keep them.
      this.push(state.header);
      this.push(data);
    } else {
      this.metaBlocks.push(state.header, data);
      const content = data.subarray(0, size);
      if (state.metaType === 'x') this.metaPath = parsePaxPath(content) ?? this.metaPath;
      if (state.metaType === 'L') this.metaPath = content.toString('utf8').replace(/\0.*$/s, '');
    }
    this.state = { kind: 'header' };
  }

  /** Returns false when more input is needed. */
  private consumeData(state: Extract<State, { kind: 'data' }>): boolean {
    const total = state.remaining + state.padding;
    const length = Math.min(total, this.pending.length);
    const part = this.takeBytes(length);
    if (state.emit) this.push(part);
    if (state.capture && state.remaining > 0) {
      const dataPart = part.subarray(0, Math.min(part.length, state.remaining));
      state.capture.chunks.push(Buffer.from(dataPart));
    }
    const fromData = Math.min(length, state.remaining);
    state.remaining -= fromData;
    state.padding -= length - fromData;
    if (state.remaining === 0 && state.padding === 0) {
      this.finishData(state);
      return true;
    }
    return false;
  }

  private finishData(state: Extract<State, { kind: 'data' }>): void {
    if (state.capture) {
      const { kind, version, path, chunks } = state.capture;
      this.bootFiles.push({ kind, version, path, content: Buffer.concat(chunks) });
    }
    this.state = { kind: 'header' };
  }
}
