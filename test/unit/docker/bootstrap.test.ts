import { describe, expect, it } from 'vitest';
import { buildMmdebstrapArgs } from '../../../src/docker/bootstrap.js';
import { splitRef } from '../../../src/docker/engine.js';

describe('base bootstrap', () => {
  it('asks mmdebstrap for a tar on stdout from the given mirror', () => {
    expect(buildMmdebstrapArgs({ tool: 'mmdebstrap', suite: 'bookworm', mirror: 'http://deb.debian.org/debian', include: ['ca-certificates', 'gnupg'] })).toEqual([
      '--variant=minbase', '--format=tar', '--include=ca-certificates,gnupg', 'bookworm', '-', 'http://deb.debian.org/debian',
    ]);
  });

  it('splits references with registry ports correctly', () => {
    expect(splitRef('localhost:5000/os2:dev')).toEqual({ repo: 'localhost:5000/os2', tag: 'dev' });
    expect(splitRef('localhost:5000/os2')).toEqual({ repo: 'localhost:5000/os2', tag: 'latest' });
    expect(splitRef('debian:bookworm')).toEqual({ repo: 'debian', tag: 'bookworm' });
  });
});
