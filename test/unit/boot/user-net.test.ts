import { spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildUserNetdev, findFreePort, forwardToHost, gatewayAddress, networkContains } from '../../../src/boot/user-net.js';

describe('buildUserNetdev', () => {
  it('is qemu\'s plain user network when nothing is forwarded', () => {
    expect(buildUserNetdev('net0')).toBe('user,id=net0');
  });

  it('binds host forwards to loopback unless told otherwise', () => {
    expect(buildUserNetdev('n', { hostForwards: [{ hostPort: 2222, guestPort: 22 }, { hostPort: 8080, guestPort: 80, hostAddress: '0.0.0.0' }] })).toBe(
      'user,id=n,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:0.0.0.0:8080-:80',
    );
  });

  it('refuses a guest forward outside the network, as qemu would, and says which network to use', () => {
    const forward = forwardToHost('169.254.169.254', 80, 8080);
    expect(() => buildUserNetdev('n', { guestForwards: [forward] })).toThrow(/outside the user network 10\.0\.2\.0\/24.*169\.254\.0\.0\/16/);
    expect(buildUserNetdev('n', { cidr: '169.254.0.0/16', guestForwards: [forward] })).toMatch(/^user,id=n,net=169\.254\.0\.0\/16,guestfwd=tcp:169\.254\.169\.254:80-cmd:/);
  });

  it('rejects bad ports and networks', () => {
    expect(() => buildUserNetdev('n', { hostForwards: [{ hostPort: 0, guestPort: 22 }] })).toThrow(/port/);
    expect(() => buildUserNetdev('n', { cidr: '10.0.2.0/30' })).toThrow(/prefix 4 to 24/);
    expect(() => buildUserNetdev('n', { cidr: '10.0.2/24' })).toThrow(/invalid user network/);
  });
});

describe('addresses', () => {
  it('puts the host where qemu does: the host bits of 10.0.2.2 in the given network', () => {
    expect(gatewayAddress()).toBe('10.0.2.2');
    // Seen in a guest on 169.254.0.0/16: "default via 169.254.2.2", its own address 169.254.2.15.
    expect(gatewayAddress('169.254.0.0/16')).toBe('169.254.2.2');
    expect(gatewayAddress('192.168.76.0/24')).toBe('192.168.76.2');
    expect(gatewayAddress('172.16.0.0/12')).toBe('172.16.2.2');
  });

  it('knows which addresses a network holds', () => {
    expect(networkContains('169.254.0.0/16', '169.254.169.254')).toBe(true);
    expect(networkContains('10.0.2.0/24', '169.254.169.254')).toBe(false);
    expect(networkContains('10.0.2.0/24', '10.0.2.100')).toBe(true);
    expect(networkContains('10.0.2.0/24', 'metadata')).toBe(false);
  });
});

describe('forwardToHost', () => {
  let server: Server | undefined;
  let guestEnd: Server | undefined;
  afterEach(() => {
    server?.close();
    guestEnd?.close();
  });

  async function listen(handler: (socket: Socket) => void): Promise<Server> {
    server = createServer(handler);
    await new Promise<void>((resolveListen) => server!.listen(0, '127.0.0.1', resolveListen));
    return server;
  }

  it('runs a bridge that joins one socket on stdin and stdout to the host service, as qemu runs it per connection', async () => {
    const service = await listen((socket) => socket.on('data', (data) => socket.end(`echo:${data}`)));
    // The guest's end of the connection; the bridge gets the other end as fd 0 and 1, as slirp hands it over.
    const accepted = new Promise<Socket>((resolveAccepted) => {
      guestEnd = createServer((socket) => resolveAccepted(socket));
    });
    await new Promise<void>((resolveListen) => guestEnd!.listen(0, '127.0.0.1', resolveListen));
    const bridgeEnd = connect((guestEnd!.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((resolveConnect) => bridgeEnd.once('connect', resolveConnect));
    const guestSide = await accepted;
    const [binary, ...args] = forwardToHost('10.0.2.100', 80, (service.address() as AddressInfo).port).command;
    const bridge = spawn(binary!, args, { stdio: [bridgeEnd, bridgeEnd, 'ignore'] });
    bridgeEnd.destroy(); // the child holds its own copy
    guestSide.end('ping');
    let reply = '';
    guestSide.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    await new Promise((resolveEnd) => guestSide.once('end', resolveEnd));
    expect(reply).toBe('echo:ping');
    const code = await new Promise((resolveExit) => bridge.once('exit', resolveExit));
    expect(code).toBe(0);
  });

  it('finds a port nothing listens on', async () => {
    const port = await findFreePort();
    expect(port).toBeGreaterThan(1023);
    server = createServer();
    await new Promise<void>((resolveListen) => server!.listen(port, '127.0.0.1', resolveListen));
  });
});
