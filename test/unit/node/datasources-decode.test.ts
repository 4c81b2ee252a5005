import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { collectSshKeys, decodeUserData, parseKeyList } from '../../../src/node/datasources/decode.js';
import { parseGcpSshKeys } from '../../../src/node/datasources/gcp.js';

describe('decodeUserData', () => {
  it('passes text through, gunzips gzip, and calls empty or blank none', () => {
    expect(decodeUserData(Buffer.from('#cloud-config\n'))).toBe('#cloud-config\n');
    expect(decodeUserData(gzipSync('#!/bin/sh\n'))).toBe('#!/bin/sh\n');
    expect(decodeUserData(Buffer.alloc(0))).toBeUndefined();
    expect(decodeUserData(Buffer.from(' \n'))).toBeUndefined();
    expect(decodeUserData(undefined)).toBeUndefined();
  });
});

describe('key parsing', () => {
  it('collects keys from strings, lists and nested maps, once each', () => {
    expect(collectSshKeys({ a: 'ssh-rsa A\n# comment\n\nssh-rsa B', b: ['ssh-rsa A', { 'openssh-key': 'ssh-rsa C' }], c: 42 })).toEqual(['ssh-rsa A', 'ssh-rsa B', 'ssh-rsa C']);
    expect(collectSshKeys(undefined)).toEqual([]);
  });

  it('reads plain lines without folding them, and YAML or JSON lists', () => {
    expect(parseKeyList('ssh-rsa A a@x\nssh-rsa B b@x\n')).toEqual(['ssh-rsa A a@x', 'ssh-rsa B b@x']);
    expect(parseKeyList('- ssh-rsa A\n- ssh-rsa B\n')).toEqual(['ssh-rsa A', 'ssh-rsa B']);
    expect(parseKeyList('["ssh-rsa A", "ssh-rsa B"]')).toEqual(['ssh-rsa A', 'ssh-rsa B']);
    expect(parseKeyList('- "ssh-rsa A"\n- [broken\n')).toEqual(['ssh-rsa A', '[broken']);
  });

  it('drops the USER: prefix of GCE ssh-keys but not a colon inside the key comment', () => {
    expect(parseGcpSshKeys('alice:ssh-rsa A alice\nssh-rsa B note:x\n\n')).toEqual(['ssh-rsa A alice', 'ssh-rsa B note:x']);
  });
});
