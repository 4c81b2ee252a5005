import { describe, expect, it } from 'vitest';
import { judgeChainUpdate } from '../../../src/node/upgrade/boot-chain.js';
import { parseSbat, type PeImageInfo } from '../../../src/tools/pe-image.js';

const MS = { subject: 'Microsoft Windows UEFI Driver Publisher', issuer: 'Microsoft Corporation UEFI CA 2011' };
const DEBIAN = { subject: 'Debian Secure Boot Signer 2022 - grub2', issuer: 'Debian Secure Boot CA' };
const MINE = { subject: 'SnakeOil', issuer: 'SnakeOil' };
const shimSbat = (generation: number, version = '15.8-1') => parseSbat(`sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nshim,${generation},UEFI shim,shim,1,https://github.com/rhboot/shim\nshim.debian,1,Debian,shim,${version},https://tracker.debian.org/pkg/shim\n`);
const grubSbat = (generation: number) => parseSbat(`sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\ngrub,${generation},Free Software Foundation,grub,2.06,https://www.gnu.org/software/grub/\n`);
const chain = (shim: Partial<PeImageInfo>, grub: Partial<PeImageInfo> = {}) => ({
  shim: { signers: [MS], sbat: shimSbat(4), ...shim },
  grub: { signers: [DEBIAN], sbat: grubSbat(4), ...grub },
});

describe('parseSbat', () => {
  it('reads component, generation and the vendor version, skipping what is not a record', () => {
    expect(shimSbat(4)).toEqual([
      { component: 'sbat', generation: 1, version: '1' },
      { component: 'shim', generation: 4, version: '1' },
      { component: 'shim.debian', generation: 1, version: '15.8-1' },
    ]);
    expect(parseSbat('\n\nnot,a-number,x\n')).toEqual([]);
  });
});

describe('judgeChainUpdate: the ESP takes a new chain only when the machine will still start it', () => {
  it('takes the same signers with equal or higher SBAT generations, and extra signatures', () => {
    expect(judgeChainUpdate(chain({}), chain({ sbat: shimSbat(4, '15.8-2') }))).toBeUndefined();
    expect(judgeChainUpdate(chain({}), chain({ signers: [MS, MINE], sbat: shimSbat(5) }, { sbat: grubSbat(5) }))).toBeUndefined();
  });

  it('refuses a shim without a signer the running one has: a machine trusting only your key would stop', () => {
    expect(judgeChainUpdate(chain({ signers: [MS, MINE] }), chain({}))).toMatch(/^the new shim is not signed by "SnakeOil" as the running one is/);
    expect(judgeChainUpdate(chain({}), chain({}, { signers: [] }))).toMatch(/^the new grub is not signed by "Debian Secure Boot CA"/);
  });

  it('refuses a lower or missing SBAT generation: shim refuses what the machine revoked', () => {
    expect(judgeChainUpdate(chain({}), chain({ sbat: shimSbat(3) }))).toBe(
      'the new shim is older than the running one (SBAT shim generation 3, the running one has 4), and shim refuses what the machine has revoked',
    );
    expect(judgeChainUpdate(chain({}), chain({}, { sbat: [] }))).toMatch(/SBAT sbat generation missing/);
  });
});
