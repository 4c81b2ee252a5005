import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { resolveSourceDateEpoch, validateCloudConfig, validateVolumeLabel } from '../../../src/artifacts/iso.js';
import { scratchDirs } from '../../helpers/scratch.js';

const tempDir = scratchDirs();

const dir = tempDir('iso-unit-');
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('ISO input validation', () => {
  it('exports the volume label rule', () => {
    expect(validateVolumeLabel('ROS_LIVE')).toBe('ROS_LIVE');
    expect(() => validateVolumeLabel('ros-live')).toThrow(/invalid volume label "ros-live"/);
  });

  it('accepts a cloud-config with the #cloud-config header line', async () => {
    const ok = file('ok.yaml', '#cloud-config\nhostname: ros\n');
    expect(await validateCloudConfig(ok)).toBe(ok);
    expect(await validateCloudConfig(file('crlf.yaml', '#cloud-config\r\nusers: []\r\n'))).toMatch(/crlf\.yaml$/);
    expect(await validateCloudConfig(file('only.yaml', '#cloud-config'))).toMatch(/only\.yaml$/);
  });

  it.each([
    ['no-header.yaml', 'hostname: ros\n'],
    ['empty.yaml', ''],
    ['late.yaml', '\n#cloud-config\n'],
    ['suffix.yaml', '#cloud-configs\n'],
    ['script.yaml', '#!/bin/sh\necho hi\n'],
  ])('rejects %s, naming the file', async (name, content) => {
    const path = file(name, content);
    await expect(validateCloudConfig(path)).rejects.toThrow(UserError);
    await expect(validateCloudConfig(path)).rejects.toThrow(new RegExp(`${name.replace('.', '\\.')} does not start with "#cloud-config"`));
  });

  it('rejects a file a node would report at every boot: broken YAML, a wrong type, each with its key path', async () => {
    await expect(validateCloudConfig(file('broken.yaml', '#cloud-config\nhostname: [a\n'))).rejects.toThrow(/broken\.yaml has 1 error:\n {2}- .*broken\.yaml: not valid YAML/);
    await expect(validateCloudConfig(file('typed.yaml', '#cloud-config\nros:\n  sysctl: 5\n'))).rejects.toThrow(/typed\.yaml: ros\.sysctl: must be object/);
    // An unknown key is only a warning, on the node as here.
    expect(await validateCloudConfig(file('typo.yaml', '#cloud-config\nhostnme: a\n'))).toMatch(/typo\.yaml$/);
  });

  it('rejects a missing cloud-config and a directory, naming the path', async () => {
    await expect(validateCloudConfig(join(dir, 'absent.yaml'))).rejects.toThrow(/cloud-config file not found: .*absent\.yaml/);
    await expect(validateCloudConfig(dir)).rejects.toThrow(/not a regular file/);
  });

  it('takes the epoch from the input, else SOURCE_DATE_EPOCH, else now', () => {
    expect(resolveSourceDateEpoch(5, { SOURCE_DATE_EPOCH: '7' })).toBe(5);
    expect(resolveSourceDateEpoch(undefined, { SOURCE_DATE_EPOCH: '7' })).toBe(7);
    const now = Math.floor(Date.now() / 1000);
    expect(resolveSourceDateEpoch(undefined, {})).toBeGreaterThanOrEqual(now);
    expect(() => resolveSourceDateEpoch(undefined, { SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(UserError);
    expect(() => resolveSourceDateEpoch(-1, {})).toThrow(UserError);
  });
});
