/**
 * qemu's user-mode network (slirp) as a boot uses it: host ports forwarded
 * into the guest (SSH), guest addresses forwarded to host services (a
 * metadata server), and the addresses a guest sees on that network.
 */
import { createServer } from 'node:net';

/** qemu's own default; the guest gets 10.0.2.15 by DHCP, the host is reachable at 10.0.2.2. */
export const DEFAULT_USER_NETWORK = '10.0.2.0/24';

export interface HostForward {
  /** Port on the host, bound to hostAddress only. */
  hostPort: number;
  guestPort: number;
  /** Default 127.0.0.1: a forwarded sshd must not be reachable from the host's networks. */
  hostAddress?: string;
}

export interface GuestForward {
  /** An address inside the user network that the guest connects to, e.g. 169.254.169.254. */
  guestAddress: string;
  guestPort: number;
  /** Run for every connection with the connection on stdin and stdout (qemu's `cmd:` forward). */
  command: readonly string[];
}

export interface UserNetwork {
  /** IPv4 network in CIDR notation; default 10.0.2.0/24. */
  cidr?: string;
  hostForwards?: readonly HostForward[];
  guestForwards?: readonly GuestForward[];
  /** DHCP's boot file: what a network boot's iPXE fetches (an http:// URL). */
  bootfile?: string;
}

interface Ipv4Network {
  address: number;
  prefix: number;
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return undefined;
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function parseNetwork(cidr: string): Ipv4Network {
  const [addressText = '', prefixText = ''] = cidr.split('/');
  const address = parseIpv4(addressText);
  const prefix = Number(prefixText);
  // slirp needs room for its gateway (.2), DNS (.3) and a DHCP range from .15. As wide as /4: Azure's two addresses,
  // 168.63.129.16 and 169.254.169.254, are in one network only from /6 (168.0.0.0/6).
  if (address === undefined || !/^\d+$/.test(prefixText) || prefix < 4 || prefix > 24) {
    throw new Error(`invalid user network "${cidr}": expected an IPv4 network such as 10.0.2.0/24 (prefix 4 to 24)`);
  }
  const size = 2 ** (32 - prefix);
  return { address: address - (address % size), prefix };
}

export function networkContains(cidr: string, address: string): boolean {
  const network = parseNetwork(cidr);
  const value = parseIpv4(address);
  if (value === undefined) return false;
  const size = 2 ** (32 - network.prefix);
  return value - (value % size) === network.address;
}

/** qemu's historic gateway, 10.0.2.2: in another network it keeps the host bits that fit (169.254.0.0/16 -> 169.254.2.2). */
const HISTORIC_GATEWAY = 0x0a000202;

/** Where the guest reaches the host (qemu's gateway; connections to it go to the host's loopback). */
export function gatewayAddress(cidr = DEFAULT_USER_NETWORK): string {
  const network = parseNetwork(cidr);
  const hostBits = 2 ** (32 - network.prefix);
  return formatIpv4(network.address + (HISTORIC_GATEWAY % hostBits));
}

/**
 * The value of `-netdev user,…`. Commas inside a forward's command are
 * doubled, qemu's escape for option values.
 */
export function buildUserNetdev(id: string, network: UserNetwork = {}): string {
  const cidr = network.cidr ?? DEFAULT_USER_NETWORK;
  parseNetwork(cidr);
  const options = [`user`, `id=${id}`];
  if (network.cidr !== undefined) options.push(`net=${cidr}`);
  if (network.bootfile !== undefined) options.push(`bootfile=${network.bootfile.replaceAll(',', ',,')}`);
  for (const forward of network.hostForwards ?? []) {
    assertPort(forward.hostPort, 'host forward port');
    assertPort(forward.guestPort, 'host forward guest port');
    const hostAddress = forward.hostAddress ?? '127.0.0.1';
    if (parseIpv4(hostAddress) === undefined) throw new Error(`invalid host address for a forward: ${hostAddress}`);
    options.push(`hostfwd=tcp:${hostAddress}:${forward.hostPort}-:${forward.guestPort}`);
  }
  for (const forward of network.guestForwards ?? []) {
    assertPort(forward.guestPort, 'guest forward port');
    // slirp only intercepts addresses of its own network; anything else is routed out to the host's real network.
    if (!networkContains(cidr, forward.guestAddress)) {
      throw new Error(
        `guest forward address ${forward.guestAddress} is outside the user network ${cidr}: qemu would refuse it ("Conflicting/invalid host:port"); ` +
          `use a network that contains it, for example 169.254.0.0/16 for 169.254.169.254`,
      );
    }
    if (forward.command.length === 0) throw new Error('a guest forward needs a command');
    const command = forward.command.map(quoteForGlibShell).join(' ').replaceAll(',', ',,');
    options.push(`guestfwd=tcp:${forward.guestAddress}:${forward.guestPort}-cmd:${command}`);
  }
  return options.join(',');
}

function assertPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid ${what}: ${port}`);
}

/** slirp splits a `cmd:` forward with g_shell_parse_argv, which reads single quotes as sh does. */
function quoteForGlibShell(arg: string): string {
  return /^[\w@%+=:./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/*
 * Why a program per connection instead of qemu's `tcp:HOST:PORT` forward:
 * that one is a character device, opened once when qemu starts (qemu refuses
 * to start when nothing listens yet) and carrying a single connection for the
 * whole run. A metadata client makes several connections (IMDSv2: a token,
 * then the data). This Node one-liner is spawned by qemu for each connection
 * and joins it to the host service; Node is the one runtime sure to be here.
 */
const BRIDGE_SCRIPT = [
  'const [host, port] = process.argv.slice(1);',
  'const socket = require("net").connect(Number(port), host);',
  'process.stdin.pipe(socket);',
  'socket.pipe(process.stdout);',
  'socket.on("error", () => process.exit(1));',
  'process.stdout.on("finish", () => process.exit(0));',
].join(' ');

/** A guest forward that joins each guest connection to a TCP service on the host. */
export function forwardToHost(guestAddress: string, guestPort: number, hostPort: number, hostAddress = '127.0.0.1'): GuestForward {
  assertPort(hostPort, 'host port');
  return { guestAddress, guestPort, command: [process.execPath, '-e', BRIDGE_SCRIPT, hostAddress, String(hostPort)] };
}

/** A port on 127.0.0.1 that nothing listens on right now (the kernel picks it; it could be taken again before qemu binds it). */
export function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('could not find a free TCP port on 127.0.0.1'))));
    });
  });
}
