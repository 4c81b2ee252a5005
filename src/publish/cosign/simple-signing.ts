/*
 * The payload cosign signs for an image with a key: a "simple signing" JSON
 * document (the containers/image signature format) naming the image and its
 * manifest digest. It must be byte-for-byte what cosign writes, since the
 * signature is over these bytes and cosign stores them as the signature layer.
 */

export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

/** The media type of the signature layer that carries the payload in cosign's .sig manifest. */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';

export interface SimpleSigningPayload {
  dockerReference: string;
  manifestDigest: string;
  /** cosign's `-a key=value` annotations, from the payload's "optional" object; absent when it is null. */
  annotations?: Record<string, unknown>;
}

const DOCKER_HUB = 'index.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', DOCKER_HUB]);

// A repository, optionally behind a registry host (name, IPv4 or [IPv6], optional port), optionally with a tag.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const HOST = '(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:]+\\])(?::[0-9]+)?';
const DOCKER_REFERENCE = new RegExp(`^(?:${HOST}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$`);
const MANIFEST_DIGEST = /^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/**
 * The docker-reference cosign writes by default: the repository with its registry
 * host and no tag or digest, Docker Hub names spelled out in full
 * (`rancher/os2` -> `index.docker.io/rancher/os2`, `debian` -> `index.docker.io/library/debian`),
 * as go-containerregistry's Repository.Name() gives it. A verifier that checks the
 * claimed identity compares against this form, so a shortened name would not match.
 */
export function cosignDockerReference(repository: string): string {
  const slash = repository.indexOf('/');
  const first = slash === -1 ? '' : repository.slice(0, slash);
  const hasRegistry = first === 'localhost' || /[.:]/.test(first);
  const registry = hasRegistry ? first : DOCKER_HUB;
  const path = hasRegistry ? repository.slice(slash + 1) : repository;
  const normalizedRegistry = DOCKER_HUB_ALIASES.has(registry) ? DOCKER_HUB : registry;
  const normalizedPath = normalizedRegistry === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path;
  return `${normalizedRegistry}/${normalizedPath}`;
}

/**
 * The exact bytes cosign signs: Go's encoding/json of sigstore's SimpleContainerImage,
 * fields in struct order, no whitespace, and "optional":null as cosign writes without
 * annotations. `dockerReference` should come from cosignDockerReference() to match
 * what cosign itself would write (a tag is allowed, as with cosign --sign-container-identity).
 */
export function createSimpleSigningPayload(dockerReference: string, manifestDigest: string): Buffer {
  // Validating both keeps the text inside the characters for which JSON.stringify and Go's encoder agree.
  if (!DOCKER_REFERENCE.test(dockerReference)) throw new Error(`not a docker reference: ${JSON.stringify(dockerReference)} (expected REGISTRY/REPOSITORY, without a digest)`);
  if (!MANIFEST_DIGEST.test(manifestDigest)) throw new Error(`not a manifest digest: ${JSON.stringify(manifestDigest)} (expected sha256:<64 hex digits>)`);
  const document = {
    critical: {
      identity: { 'docker-reference': dockerReference },
      image: { 'docker-manifest-digest': manifestDigest },
      type: COSIGN_SIGNATURE_TYPE,
    },
    optional: null,
  };
  return Buffer.from(JSON.stringify(document), 'utf8');
}

/** Read a simple signing payload, refusing anything that is not a cosign image signature. */
export function parseSimpleSigningPayload(bytes: Buffer): SimpleSigningPayload {
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Error('the signature payload is not JSON');
  }
  const critical = member(document, 'critical');
  const type = member(critical, 'type');
  if (type !== COSIGN_SIGNATURE_TYPE) throw new Error(`the signature payload is of type ${JSON.stringify(type)}, not "${COSIGN_SIGNATURE_TYPE}"`);
  const dockerReference = member(member(critical, 'identity'), 'docker-reference');
  const manifestDigest = member(member(critical, 'image'), 'docker-manifest-digest');
  if (typeof dockerReference !== 'string' || dockerReference === '') throw new Error('the signature payload has no critical.identity.docker-reference');
  if (typeof manifestDigest !== 'string' || !MANIFEST_DIGEST.test(manifestDigest)) {
    throw new Error(`the signature payload's critical.image.docker-manifest-digest is not a digest: ${JSON.stringify(manifestDigest)}`);
  }
  const optional = member(document, 'optional');
  if (optional !== undefined && optional !== null && !isObject(optional)) throw new Error('the signature payload\'s "optional" is neither null nor an object');
  return isObject(optional) ? { dockerReference, manifestDigest, annotations: optional } : { dockerReference, manifestDigest };
}

function member(value: unknown, name: string): unknown {
  return isObject(value) ? value[name] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
