/**
 * What `ros-build prune` removes, decided from facts alone (no engine, no
 * disk): the engine's images, the containers' images, the keyed cache
 * directories, the output records and the keys running builds use.
 *
 * Only what ros-build made is ever a candidate: images with a `ros-build/`
 * tag and the `io.ros-build.key` label (and only those tags are removed, never
 * an image by ID), directories `<cache>/<kind>/<16 hex>/`, and records.
 */
import { shortKey } from '../plan/keys.js';

export const KEY_LABEL = 'io.ros-build.key';
export const CACHE_TAG_PREFIX = 'ros-build/';
const KEYED_DIR = /^[0-9a-f]{16}$/;

/** An image as the engine lists it with `all`: intermediate images of classic builds included. */
export interface EngineImage {
  id: string;
  parentId?: string;
  tags: string[];
  labels: Record<string, string>;
  /** Bytes of the image with its parents' layers (the engine's Size). */
  size: number;
}

/** A per-key cache directory, `<cache>/<kind>/<key>/`. */
export interface CacheDir {
  kind: string;
  /** The directory name: a short key. */
  key: string;
  path: string;
  bytes: number;
}

export interface CacheRecord {
  path: string;
  key: string;
}

/**
 * Which keys may go: those no plan of the current spec uses (`prune`),
 * every key (`prune --all`), or exactly the given ones (a benchmark removing
 * what it built). Keys in use by a running build are kept in every scope.
 */
export type PruneScope = { kind: 'obsolete'; keep: Set<string> } | { kind: 'all' } | { kind: 'only'; keys: Set<string> };

export interface PruneFacts {
  images: EngineImage[];
  /** Images containers (running or stopped) were created from. */
  containerImageIds: Set<string>;
  cacheDirs: CacheDir[];
  records: CacheRecord[];
  inUseKeys: Set<string>;
  /** References never untagged even when named ros-build/…: the spec's REPO:TAG and its base image. */
  protectedRefs: Set<string>;
}

/**
 * Why something stays: the current spec uses it; a running build uses it; a
 * container was made from it; or (images, `prune` only) removing its tags
 * would free nothing because the image stays anyway, held by another tag, a
 * child image or a container: untagging it would only lose the cache entry.
 */
export type KeepReason = 'wanted' | 'in use' | 'container' | 'held';

export interface ImageVerdict {
  image: EngineImage;
  /** Its ros-build tags: the ones removed, or kept. */
  tags: string[];
  key: string;
  reason?: KeepReason;
  /** For `held`: what holds it (a tag, or a container). */
  heldBy?: string;
  /** For a removal: the bytes it frees (estimated), and whether the image goes or only loses its tags. */
  bytes?: number;
  goes?: boolean;
}

export interface PruneDecision {
  /** Children before parents, the order the engine should be asked in. */
  removeImages: ImageVerdict[];
  keepImages: ImageVerdict[];
  /** Estimated bytes the engine frees when `removeImages` go (classic-builder parent chains make it exact). */
  imageBytes: number;
  removeDirs: CacheDir[];
  keepDirs: Array<CacheDir & { reason: KeepReason }>;
  removeRecords: CacheRecord[];
  keepRecords: Array<CacheRecord & { reason: KeepReason }>;
}

/** Short keys on both sides: directories are named by the short key, labels and records hold the full one. */
export function normalizeKey(key: string): string {
  return shortKey(key.replace(/^sha256:/, ''));
}

function toShortSet(keys: Iterable<string>): Set<string> {
  return new Set([...keys].map(normalizeKey));
}

/** A predicate: may this key go in this scope (before in-use is considered)? */
export function createScopeTest(scope: PruneScope): (key: string) => boolean {
  if (scope.kind === 'all') return () => true;
  if (scope.kind === 'only') {
    const only = toShortSet(scope.keys);
    return (key) => only.has(normalizeKey(key));
  }
  const keep = toShortSet(scope.keep);
  return (key) => !keep.has(normalizeKey(key));
}

/** The ros-build tags of an image made by ros-build, or none. */
export function findCacheTags(image: EngineImage, protectedRefs: Set<string>): string[] {
  if (!image.labels[KEY_LABEL]) return [];
  return image.tags.filter((tag) => tag.startsWith(CACHE_TAG_PREFIX) && !protectedRefs.has(tag));
}

/** `<cache>/<kind>/<name>/` is a per-key cache directory when its name is a short key. */
export function isKeyedDirName(name: string): boolean {
  return KEYED_DIR.test(name);
}

function ownBytes(image: EngineImage, byId: Map<string, EngineImage>): number {
  const parent = image.parentId ? byId.get(image.parentId) : undefined;
  return Math.max(0, image.size - (parent?.size ?? 0));
}

/** Bytes the engine freed by deleting these images (IDs it reported), each counted by its own layers. */
export function sumOwnBytes(images: EngineImage[], deletedIds: Iterable<string>): number {
  const byId = new Map(images.map((image) => [image.id, image]));
  let total = 0;
  for (const id of new Set(deletedIds)) {
    const image = byId.get(id);
    if (image) total += ownBytes(image, byId);
  }
  return total;
}

/**
 * What the engine deletes when these tags are removed without force: an image
 * goes when it has no tag, no child image and no container left, and then its
 * untagged parents the same way (classic builds chain intermediate images by
 * parent). Bytes are each deleted image's own layers: its size less its parent's.
 */
export function simulateImageRemoval(
  images: EngineImage[],
  containerImageIds: Set<string>,
  removeTags: string[],
): { deleted: Set<string>; bytes: number } {
  const byId = new Map(images.map((image) => [image.id, image]));
  const tags = new Map(images.map((image) => [image.id, new Set(image.tags)]));
  const owner = new Map(images.flatMap((image) => image.tags.map((tag) => [tag, image.id] as const)));
  const children = new Map<string, Set<string>>();
  for (const image of images) {
    if (image.parentId && byId.has(image.parentId)) {
      if (!children.has(image.parentId)) children.set(image.parentId, new Set());
      children.get(image.parentId)!.add(image.id);
    }
  }
  const deleted = new Set<string>();
  const deleteUpwards = (start: string) => {
    let id: string | undefined = start;
    while (id && byId.has(id) && !deleted.has(id) && tags.get(id)!.size === 0 && !children.get(id)?.size && !containerImageIds.has(id)) {
      deleted.add(id);
      const parent: string | undefined = byId.get(id)!.parentId;
      if (parent) children.get(parent)?.delete(id);
      id = parent;
    }
  };
  for (const tag of removeTags) {
    const id = owner.get(tag);
    if (!id) continue;
    tags.get(id)!.delete(tag);
    deleteUpwards(id);
  }
  let bytes = 0;
  for (const id of deleted) bytes += ownBytes(byId.get(id)!, byId);
  return { deleted, bytes };
}

/** What keeps an image that survives a removal alive: another tag, a container, or a tagged descendant. */
function findHolder(start: EngineImage, images: EngineImage[], containerImageIds: Set<string>, removed: Set<string>): string {
  const queue = [start];
  const seen = new Set<string>();
  while (queue.length) {
    const image = queue.shift()!;
    if (seen.has(image.id)) continue;
    seen.add(image.id);
    const tag = image.tags.find((t) => !removed.has(t));
    if (tag) return tag;
    if (containerImageIds.has(image.id)) return `a container of ${image.id.slice(7, 19)}`;
    queue.push(...images.filter((child) => child.parentId === image.id));
  }
  return 'a child image';
}

function depthOf(image: EngineImage, byId: Map<string, EngineImage>): number {
  let depth = 0;
  for (let id = image.parentId; id && byId.has(id) && depth < 10_000; id = byId.get(id)!.parentId) depth++;
  return depth;
}

export function decidePrune(facts: PruneFacts, scope: PruneScope): PruneDecision {
  const mayGo = createScopeTest(scope);
  const inUse = toShortSet(facts.inUseKeys);
  const keepReason = (key: string): KeepReason | undefined => (inUse.has(normalizeKey(key)) ? 'in use' : mayGo(key) ? undefined : 'wanted');
  const byId = new Map(facts.images.map((image) => [image.id, image]));

  const candidates: ImageVerdict[] = [];
  const keepImages: ImageVerdict[] = [];
  for (const image of facts.images) {
    const tags = findCacheTags(image, facts.protectedRefs);
    if (!tags.length) continue;
    const key = image.labels[KEY_LABEL]!;
    const reason = facts.containerImageIds.has(image.id) ? 'container' : keepReason(key);
    (reason ? keepImages : candidates).push({ image, tags, key, reason });
  }

  let removeImages = candidates;
  // `prune` removes a tag only when its image goes with it; `--all` and a scoped cleanup forget every cache tag.
  if (scope.kind === 'obsolete') {
    const allTags = candidates.flatMap((c) => c.tags);
    const { deleted } = simulateImageRemoval(facts.images, facts.containerImageIds, allTags);
    const removedTags = new Set(allTags);
    removeImages = [];
    for (const candidate of candidates) {
      if (deleted.has(candidate.image.id)) removeImages.push(candidate);
      else keepImages.push({ ...candidate, reason: 'held', heldBy: findHolder(candidate.image, facts.images, facts.containerImageIds, removedTags) });
    }
  }
  removeImages.sort((a, b) => depthOf(b.image, byId) - depthOf(a.image, byId));
  // Each image is credited with what its own removal adds: its layers down to the next tagged parent.
  let imageBytes = 0;
  const tagsSoFar: string[] = [];
  removeImages = removeImages.map((verdict) => {
    tagsSoFar.push(...verdict.tags);
    const { bytes, deleted } = simulateImageRemoval(facts.images, facts.containerImageIds, tagsSoFar);
    const own = bytes - imageBytes;
    imageBytes = bytes;
    return { ...verdict, bytes: own, goes: deleted.has(verdict.image.id) };
  });

  const removeDirs: CacheDir[] = [];
  const keepDirs: PruneDecision['keepDirs'] = [];
  for (const dir of facts.cacheDirs) {
    if (!isKeyedDirName(dir.key)) continue;
    const reason = keepReason(dir.key);
    if (reason) keepDirs.push({ ...dir, reason });
    else removeDirs.push(dir);
  }

  const removeRecords: CacheRecord[] = [];
  const keepRecords: PruneDecision['keepRecords'] = [];
  for (const record of facts.records) {
    const reason = keepReason(record.key);
    if (reason) keepRecords.push({ ...record, reason });
    else removeRecords.push(record);
  }

  return { removeImages, keepImages, imageBytes, removeDirs, keepDirs, removeRecords, keepRecords };
}
