export interface SkopeoCopy {
  source: string;
  destination: string;
  /** Where skopeo writes the digest of what it pushed. */
  digestFile: string;
  /** A 0600 auth file holding the destination's credentials (never passed as --dest-creds: argv is visible to every user). */
  destAuthFile?: string;
  /** false lets skopeo use plain HTTP (loopback registries, --allow-http). */
  destTlsVerify: boolean;
  retryTimes: number;
}

export function skopeoCopyArgs(copy: SkopeoCopy): string[] {
  return [
    'copy',
    '--retry-times', String(copy.retryTimes),
    '--digestfile', copy.digestFile,
    ...(copy.destAuthFile ? ['--dest-authfile', copy.destAuthFile] : []),
    `--dest-tls-verify=${copy.destTlsVerify}`,
    copy.source,
    copy.destination,
  ];
}
