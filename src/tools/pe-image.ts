/**
 * What a node needs to know about an EFI binary (a PE/COFF image) before it
 * puts it on the ESP: who signed it (the Authenticode signatures in the
 * certificate table) and its SBAT generations (the .sbat section shim
 * compares with the firmware's revocation level). Read from the bytes alone:
 * the node has no sbverify, and this needs no cryptography, since the
 * firmware and shim verify; this only keeps a node from installing a chain
 * they would refuse.
 */
import { X509Certificate } from 'node:crypto';

export interface PeSigner {
  /** The signing certificate's subject CN (or the whole subject). */
  subject: string;
  /** Its issuer's CN: the certificate a firmware's db or shim's vendor key holds. */
  issuer: string;
}

export interface SbatEntry {
  component: string;
  generation: number;
  /** The vendor's version of the component (fifth field), for messages. */
  version: string;
}

export interface PeImageInfo {
  signers: PeSigner[];
  sbat: SbatEntry[];
}

const SECURITY_DIRECTORY = 4;
const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;

/** Signers and SBAT of a PE image; an error naming what is wrong when the bytes are not one. */
export function readPeImage(bytes: Buffer): PeImageInfo {
  const pe = locateHeaders(bytes);
  return { signers: readSigners(bytes, pe), sbat: readSbat(bytes, pe) };
}

interface PeHeaders {
  optionalHeader: number;
  directories: number;
  directoryCount: number;
  sectionTable: number;
  sectionCount: number;
}

function locateHeaders(bytes: Buffer): PeHeaders {
  if (bytes.length < 0x40 || bytes.toString('latin1', 0, 2) !== 'MZ') throw new Error('not a PE image (no MZ header)');
  const pe = bytes.readUInt32LE(0x3c);
  if (pe + 24 > bytes.length || bytes.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw new Error('not a PE image (no PE signature)');
  const sectionCount = bytes.readUInt16LE(pe + 6);
  const optionalSize = bytes.readUInt16LE(pe + 20);
  const optionalHeader = pe + 24;
  const magic = bytes.readUInt16LE(optionalHeader);
  const plus = magic === 0x20b;
  if (!plus && magic !== 0x10b) throw new Error(`not a PE image (optional header magic 0x${magic.toString(16)})`);
  return {
    optionalHeader,
    directoryCount: bytes.readUInt32LE(optionalHeader + (plus ? 108 : 92)),
    directories: optionalHeader + (plus ? 112 : 96),
    sectionTable: optionalHeader + optionalSize,
    sectionCount,
  };
}

/** The certificate table: WIN_CERTIFICATE entries, each a PKCS#7 SignedData, 8-byte aligned (file offsets, not RVAs). */
function readSigners(bytes: Buffer, pe: PeHeaders): PeSigner[] {
  if (pe.directoryCount <= SECURITY_DIRECTORY) return [];
  const offset = bytes.readUInt32LE(pe.directories + SECURITY_DIRECTORY * 8);
  const size = bytes.readUInt32LE(pe.directories + SECURITY_DIRECTORY * 8 + 4);
  if (offset === 0 || size === 0) return [];
  if (offset + size > bytes.length) throw new Error('PE certificate table runs past the end of the file');
  const signers: PeSigner[] = [];
  for (let at = offset; at + 8 <= offset + size; ) {
    const length = bytes.readUInt32LE(at);
    if (length < 8 || at + length > offset + size) throw new Error('PE certificate table entry has an invalid length');
    if (bytes.readUInt16LE(at + 6) === WIN_CERT_TYPE_PKCS_SIGNED_DATA) signers.push(...readPkcs7Signers(bytes.subarray(at + 8, at + length)));
    at += Math.ceil(length / 8) * 8;
  }
  return signers;
}

/** ContentInfo { signedData, [0] SignedData { version, digestAlgorithms, contentInfo, [0] certificates, [1] crls, signerInfos } }. */
function readPkcs7Signers(der: Buffer): PeSigner[] {
  const contentInfo = readTlv(der, 0);
  const explicit = childrenOf(der, contentInfo)[1];
  if (!explicit || explicit.tag !== 0xa0) throw new Error('PE signature is not PKCS#7 SignedData');
  const signedData = childrenOf(der, childrenOf(der, explicit)[0]!);
  const certificates = signedData.filter((t) => t.tag === 0xa0).flatMap((set) => childrenOf(der, set).map((cert) => new X509Certificate(der.subarray(cert.start, cert.end))));
  const signerInfos = signedData.at(-1);
  if (!signerInfos || signerInfos.tag !== 0x31) throw new Error('PE signature has no signerInfos');
  return childrenOf(der, signerInfos).map((info) => {
    const issuerAndSerial = childrenOf(der, info)[1]!;
    const serialTlv = childrenOf(der, issuerAndSerial)[1]!;
    const serial = normalizeSerial(der.subarray(serialTlv.contentStart, serialTlv.end).toString('hex'));
    const cert = certificates.find((c) => normalizeSerial(c.serialNumber) === serial);
    if (!cert) return { subject: `serial ${serial}`, issuer: `serial ${serial}` };
    return { subject: commonName(cert.subject), issuer: commonName(cert.issuer) };
  });
}

function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^(?:00)+(?=.)/, '');
}

function commonName(name: string): string {
  return /^CN=(.*)$/m.exec(name)?.[1] ?? name.replace(/\n/g, ', ');
}

interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

function readTlv(der: Buffer, start: number): Tlv {
  if (start + 2 > der.length) throw new Error('truncated DER in a PE signature');
  const tag = der[start]!;
  let length = der[start + 1]!;
  let contentStart = start + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new Error('unsupported DER length in a PE signature');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += octets;
  }
  if (contentStart + length > der.length) throw new Error('truncated DER in a PE signature');
  return { tag, start, contentStart, end: contentStart + length };
}

function childrenOf(der: Buffer, parent: Tlv): Tlv[] {
  const children: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const child = readTlv(der, at);
    children.push(child);
    at = child.end;
  }
  return children;
}

/** The .sbat section: CSV lines "component,generation,vendor,package,version,url". */
function readSbat(bytes: Buffer, pe: PeHeaders): SbatEntry[] {
  for (let i = 0; i < pe.sectionCount; i++) {
    const at = pe.sectionTable + i * 40;
    if (bytes.toString('latin1', at, at + 8).replace(/\0+$/, '') !== '.sbat') continue;
    const virtualSize = bytes.readUInt32LE(at + 8);
    const rawSize = bytes.readUInt32LE(at + 16);
    const pointer = bytes.readUInt32LE(at + 20);
    const text = bytes.toString('utf8', pointer, pointer + Math.min(virtualSize || rawSize, rawSize)).replace(/\0[\s\S]*$/, '');
    return parseSbat(text);
  }
  return [];
}

export function parseSbat(text: string): SbatEntry[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(','))
    .filter((fields) => fields.length >= 2 && fields[0] && /^\d+$/.test(fields[1]!))
    .map((fields) => ({ component: fields[0]!, generation: Number(fields[1]), version: fields[4] ?? '' }));
}
