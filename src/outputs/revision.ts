import { execa } from 'execa';

/** The source revision a build is made from: the CI's commit, else git HEAD of the spec's directory, if it is a checkout. */
export async function findSourceRevision(dir: string): Promise<string | undefined> {
  if (process.env.GITHUB_SHA) return process.env.GITHUB_SHA;
  const result = await execa('git', ['rev-parse', 'HEAD'], { cwd: dir, reject: false });
  return result.failed ? undefined : String(result.stdout).trim() || undefined;
}
