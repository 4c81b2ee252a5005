/** argv for the cosign CLI (used when it is on PATH, and for keyless signing, which needs Sigstore's services). */

export interface CosignSign {
  /** repository@sha256:…, never a tag: a signature is for a digest. */
  reference: string;
  /** Path of a cosign key; absent for keyless signing with the CI's OIDC identity. */
  keyPath?: string;
  allowHttpRegistry: boolean;
}

export function cosignSignArgs(sign: CosignSign): string[] {
  return [
    'sign',
    '--yes',
    ...(sign.keyPath ? ['--key', sign.keyPath, '--tlog-upload=false'] : []),
    ...(sign.allowHttpRegistry ? ['--allow-insecure-registry', '--allow-http-registry'] : []),
    sign.reference,
  ];
}

export interface CosignSignBlob {
  file: string;
  signaturePath: string;
  keyPath?: string;
  /** Keyless: where the Fulcio certificate and the Sigstore bundle go. */
  certificatePath?: string;
  bundlePath?: string;
}

export function cosignSignBlobArgs(sign: CosignSignBlob): string[] {
  return [
    'sign-blob',
    '--yes',
    ...(sign.keyPath ? ['--key', sign.keyPath, '--tlog-upload=false'] : []),
    '--output-signature', sign.signaturePath,
    ...(sign.certificatePath ? ['--output-certificate', sign.certificatePath] : []),
    ...(sign.bundlePath ? ['--bundle', sign.bundlePath] : []),
    sign.file,
  ];
}
