import { describe, expect, it } from 'vitest';
import { artifactTag } from '../../../src/publish/push.js';
import { parseReference, withTag } from '../../../src/publish/registry/reference.js';

describe('artifactTag', () => {
  it('puts the format after the image tag', () => {
    expect(artifactTag('v1.2', 'iso')).toBe('v1.2-iso');
    expect(artifactTag('dev', 'qcow2')).toBe('dev-qcow2');
  });

  it('keeps different formats of one tag apart', () => {
    expect(artifactTag('v1', 'iso')).not.toBe(artifactTag('v1', 'raw'));
  });

  it('is a valid tag beside the image in the same repository', () => {
    const target = parseReference('127.0.0.1:5000/rancher/os2:v1.2');
    const tagged = withTag(target, artifactTag(target.tag!, 'iso'));
    expect(tagged).toEqual({ registry: '127.0.0.1:5000', repository: 'rancher/os2', tag: 'v1.2-iso' });
  });
});
