import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../write-atomic.js';

const DHCP_HOOK = 'etc/dhcp/dhclient-enter-hooks.d/ros-dns-fallback';
const TIMESYNCD_DROPIN = 'etc/systemd/timesyncd.conf.d/10-ros.conf';

/**
 * Fallback DNS servers: after the ones DHCP gives (dhclient's enter hook adds
 * them to every lease), and alone in resolv.conf until a lease comes, so a
 * machine without DHCP still resolves.
 */
export async function setFallbackNameservers(root: string, servers: readonly string[]): Promise<void> {
  for (const server of servers) if (!/^[0-9A-Fa-f:.]+$/.test(server)) throw new Error(`ros.dns_nameservers: "${server}" is not an IP address`);
  const hook = [
    '# Written by ros from ros.dns_nameservers: fallback servers after the ones DHCP gives.',
    `new_domain_name_servers="\${new_domain_name_servers:+$new_domain_name_servers }${servers.join(' ')}"`,
    '',
  ].join('\n');
  await writeFileAtomic(join(root, DHCP_HOOK), hook, 0o644);
  const resolvConf = join(root, 'etc/resolv.conf');
  const current = await readFile(resolvConf, 'utf8').catch(() => '');
  if (!/^nameserver\s/m.test(current)) {
    await writeFile(resolvConf, `# Written by ros from ros.dns_nameservers until DHCP gives servers.\n${servers.map((s) => `nameserver ${s}\n`).join('')}`);
  }
}

/** Fallback NTP servers: timesyncd's own FallbackNTP, used when the network names none. */
export async function setFallbackNtpServers(root: string, servers: readonly string[]): Promise<void> {
  for (const server of servers) if (!/^[A-Za-z0-9.:-]+$/.test(server)) throw new Error(`ros.ntp_servers: "${server}" is not a host name or address`);
  await writeFileAtomic(join(root, TIMESYNCD_DROPIN), `# Written by ros from ros.ntp_servers.\n[Time]\nFallbackNTP=${servers.join(' ')}\n`, 0o644);
}
