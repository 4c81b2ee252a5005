import { describe, expect, it } from 'vitest';
import { mapImageBuild } from '../../../src/compat/ros-image-build.js';

describe('ros-image-build compatibility', () => {
  it('maps iso to ros-build iso and the other formats to one ros-build disk', () => {
    expect(mapImageBuild(['myrepo/custom:v1', 'iso,qcow,ami', 'cc.yaml'])).toEqual([
      { command: 'iso', args: ['--image', 'myrepo/custom:v1', '--cloud-config', 'cc.yaml'] },
      { command: 'disk', args: ['--format', 'qcow,ami', '--image', 'myrepo/custom:v1', '--cloud-config', 'cc.yaml'] },
    ]);
  });

  it('needs no cloud-config and passes ros-build flags through', () => {
    expect(mapImageBuild(['img', 'raw', '--output-dir', 'out'])).toEqual([{ command: 'disk', args: ['--format', 'raw', '--image', 'img', '--output-dir', 'out'] }]);
  });

  it('explains its usage without an image and formats', () => {
    expect(() => mapImageBuild(['img'])).toThrow(/usage: ros-image-build IMAGE FORMATS/);
  });
});
