import { sign, verify, type KeyObject } from 'node:crypto';

/*
 * cosign's keyed signatures: ECDSA P-256 over SHA-256 of the payload, the
 * signature in ASN.1 DER, carried as standard padded base64. That string is the
 * value of the `dev.cosignproject.cosign/signature` annotation, and the whole
 * content of `cosign sign-blob --output-signature FILE` (no trailing newline).
 */

export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/** Sign `payload` with a cosign private key; returns the base64 signature cosign stores. */
export function signPayload(key: KeyObject, payload: Buffer): string {
  if (key.type !== 'private') throw new Error('signing needs the private key, got a public one');
  return sign('sha256', payload, { key, dsaEncoding: 'der' }).toString('base64');
}

/** Whether `signatureBase64` is a valid signature of `payload` by the holder of `publicKey`. */
export function verifyPayload(publicKey: KeyObject, payload: Buffer, signatureBase64: string): boolean {
  // Surrounding whitespace is forgiven (a signature file saved by an editor ends in a newline); anything else
  // that is not base64 fails, where Buffer.from would quietly drop the odd characters.
  const text = signatureBase64.trim();
  if (text === '' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return false;
  try {
    return verify('sha256', payload, { key: publicKey, dsaEncoding: 'der' }, Buffer.from(text, 'base64'));
  } catch {
    // A key of the wrong kind or a signature that is not DER: not a valid signature either way.
    return false;
  }
}
