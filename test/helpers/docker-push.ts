import { execa } from 'execa';

/** Build a Docker context as `ref`, push it to that registry (on this host), drop the local tag, and return the digest the registry holds. */
export async function buildAndPushContext(context: string, ref: string): Promise<string> {
  await execa('docker', ['build', '-q', '-t', ref, context]);
  await execa('docker', ['push', '-q', ref]);
  const digest = (await execa('docker', ['inspect', '--format', '{{index .RepoDigests 0}}', ref])).stdout.trim().split('@')[1]!;
  await execa('docker', ['rmi', ref], { reject: false });
  return digest;
}
