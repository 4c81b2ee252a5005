import { describe, expect, it } from 'vitest';
import { computeKey, stableJson } from '../../../src/plan/keys.js';
import { declaredArgs, selectBuildArgs } from '../../../src/plan/steps/layer.js';

describe('layer build arguments', () => {
  const dockerfile = 'ARG PARENT_IMAGE\nFROM ${PARENT_IMAGE}\nRUN true\narg image_tag=dev\nARG OS_NAME=x\n';

  it('finds declared ARGs, case-insensitively for the keyword', () => {
    expect([...declaredArgs(dockerfile)].sort()).toEqual(['OS_NAME', 'PARENT_IMAGE', 'image_tag']);
  });

  it('passes only what the Dockerfile declares, plus the layer\'s own args', () => {
    const offered = { PARENT_IMAGE: 'p', OS_NAME: 'RancherOS', IMAGE_TAG: 'v1' };
    expect(selectBuildArgs(dockerfile, offered, { EXTRA: '1' })).toEqual({ PARENT_IMAGE: 'p', OS_NAME: 'RancherOS', EXTRA: '1' });
  });
});

describe('cache keys', () => {
  it('do not depend on key order, but on every value', () => {
    expect(computeKey('layer', { a: 1, b: { c: 2, d: 3 } })).toBe(computeKey('layer', { b: { d: 3, c: 2 }, a: 1 }));
    expect(computeKey('layer', { a: 1 })).not.toBe(computeKey('layer', { a: 2 }));
    expect(computeKey('layer', { a: 1 })).not.toBe(computeKey('rootfs', { a: 1 }));
  });

  it('treat an undefined input as absent', () => {
    expect(stableJson({ a: 1, epoch: undefined })).toBe(stableJson({ a: 1 }));
  });
});
