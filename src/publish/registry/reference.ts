import { UserError } from '../../errors.js';

/** Where an image or artifact lives: registry host, repository path, and a tag and/or digest. */
export interface ImageReference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DOCKER_HUB = 'docker.io';
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * Parse a reference the way docker does: the first path component is a
 * registry host only if it has a dot or a port or is "localhost"; otherwise
 * the image is on Docker Hub, where single names live under library/.
 */
export function parseReference(text: string): ImageReference {
  const invalid = (why: string) =>
    new UserError(`invalid image reference "${text}": ${why}`, 'expected [registry[:port]/]repository[:tag][@sha256:<hex>], e.g. 127.0.0.1:5000/rancher/os2:dev');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(`"${digest}" is not a sha256 digest`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(`"${tag}" is not a valid tag`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  if (parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === 'localhost')) registry = parts.shift()!;
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  for (const part of parts) {
    if (!PATH_COMPONENT.test(part)) throw invalid(`"${part}" is not a valid repository path component (lowercase letters, digits, . _ -)`);
  }
  return { registry, repository: parts.join('/'), tag, digest };
}

/** The repository as people write it, without tag or digest ("127.0.0.1:5000/rancher/os2"). */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

export function withTag(ref: ImageReference, tag: string): ImageReference {
  if (!TAG.test(tag)) throw new UserError(`"${tag}" is not a valid tag`, 'tags are up to 128 letters, digits, "_", "." and "-"');
  return { registry: ref.registry, repository: ref.repository, tag };
}

export function withDigest(ref: ImageReference, digest: string): ImageReference {
  return { registry: ref.registry, repository: ref.repository, digest };
}

/** Registries on this machine: the only ones we talk to over plain HTTP without being told to. */
export function isLoopbackRegistry(registry: string): boolean {
  const lower = registry.toLowerCase();
  const host = lower.startsWith('[') ? lower.slice(1, lower.indexOf(']')) : lower === '::1' ? lower : lower.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The host that serves a registry's API: Docker Hub's differs from its name. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}
