/**
 * `github:NAME` entries of ssh_authorized_keys: the keys GitHub publishes for
 * that user. Without a network (or GitHub) this is a warning, never an error:
 * the literal keys were applied at boot already.
 */
export async function fetchGithubKeys(names: readonly string[], log: (line: string) => void, timeoutMs = 10_000): Promise<string[]> {
  const keys: string[] = [];
  for (const name of names) {
    if (!/^[A-Za-z0-9-]+$/.test(name)) {
      log(`ros: warning: ssh_authorized_keys: github:${name}: not a GitHub user name`);
      continue;
    }
    try {
      const response = await fetch(`https://github.com/${name}.keys`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      keys.push(...(await response.text()).split('\n').map((l) => l.trim()).filter((l) => l !== ''));
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (error as Error).message;
      log(`ros: warning: ssh_authorized_keys: github:${name}: keys not fetched (${reason})`);
    }
  }
  return keys;
}
