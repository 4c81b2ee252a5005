import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BootError, startGuest, type Guest } from '../../../src/boot/guest.js';
import { POWER_CYCLE_LINE } from '../../../src/boot/qemu-process.js';

/*
 * startGuest against stand-ins for qemu and ssh. The fake qemu prints a boot,
 * and whenever the fake ssh is asked to reboot (it touches a file) prints a
 * shutdown, the kernel's restart line and the next boot. This exercises the
 * session — waiting, SSH retries, reboot, exit — without booting anything.
 */
let dir: string;
let artifact: string;
let key: string;
let guest: Guest | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'guest-test-'));
  artifact = join(dir, 'ros.qcow2');
  await writeFile(artifact, Buffer.from([0x51, 0x46, 0x49, 0xfb]));
  key = join(dir, 'id_ed25519');
  await writeFile(key, 'not a real key');
  await chmod(key, 0o600);
});

afterEach(async () => {
  await guest?.stop();
  guest = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

const boot = String.raw`printf 'SeaBIOS (version 1.16.2)\r\n'
printf '[    0.000000] Linux version 6.1.0\r\n'
printf '[    2.0] Run /init as init process\r\n'
printf '\r\nWelcome to Debian GNU/Linux 12 (bookworm) dracut-059-4 (Initramfs)!\r\n'
sleep 0.2
printf '\r\nWelcome to RancherOS it!\r\n'
printf '[  OK  ] Reached target multi-user.target - Multi-User System.\r\n\r\nros login: '`;

function fakeQemu(): Promise<string> {
  return script('fake-qemu', `printf '%s\\n' "$@" > "${dir}/qemu-argv"
${boot}
while :; do
  if [ -e "${dir}/poweroff" ]; then exit 0; fi
  if [ -e "${dir}/reboot" ]; then
    rm "${dir}/reboot"
    printf '\\r\\n[  OK  ] Stopped target multi-user.target - Multi-User System.\\r\\n'
    sleep 0.3
    printf '[  300.1] reboot: Restarting system\\r\\n'
    ${boot.replaceAll('\n', '\n    ')}
  fi
  sleep 0.05
done`);
}

/** As fakeQemu, but as qemu under -no-reboot with a QMP socket: a reset ends it after a SHUTDOWN event saying so. */
function fakeQmpQemu(): Promise<string> {
  const lines = [...boot.matchAll(/printf '(.*)'/g)].map((match) => match[1]!.replaceAll('\\r\\n', '\r\n'));
  return script('fake-qmp-qemu', `exec node - "$@" <<'EOF'
const { appendFileSync, existsSync, rmSync } = require('node:fs');
const { createServer } = require('node:net');
const args = process.argv.slice(2);
appendFileSync(${JSON.stringify(join(dir, 'qemu-starts'))}, args.join(' ') + '\\n');
const path = args[args.indexOf('-qmp') + 1].slice('unix:'.length).split(',')[0];
let client;
rmSync(path, { force: true });
createServer((socket) => {
  client = socket;
  socket.write('{"QMP": {"version": {}}}\\n');
  socket.on('data', (data) => String(data).includes('qmp_capabilities') && socket.write('{"return": {}}\\n'));
}).listen(path);
process.stdout.write(${JSON.stringify(lines.join(''))});
const end = (reason, last) => {
  process.stdout.write(last);
  client.write(JSON.stringify({ event: 'SHUTDOWN', data: { guest: true, reason } }) + '\\n', () => process.exit(0));
};
setInterval(() => {
  const flag = ${JSON.stringify(dir)} + '/';
  if (existsSync(flag + 'reboot')) { rmSync(flag + 'reboot'); end('guest-reset', '[  300.1] reboot: Restarting system\\r\\n'); }
  if (existsSync(flag + 'poweroff')) end('guest-shutdown', '[  300.1] reboot: Power down\\r\\n');
}, 50);
EOF`);
}

/** Fails the first two connection attempts, as a guest whose sshd is still starting. */
function fakeSsh(): Promise<string> {
  return script('fake-ssh', `for last; do :; done
printf '%s\\n' "$@" >> "${dir}/ssh-argv"
n=$(cat "${dir}/ssh-count" 2>/dev/null || echo 0); echo $((n + 1)) > "${dir}/ssh-count"
if [ "$n" -lt 2 ]; then echo 'Connection closed by 127.0.0.1 port 1' >&2; exit 255; fi
case "$last" in
  true) exit 0 ;;
  *reboot*) touch "${dir}/reboot"; exit 255 ;;
  poweroff) touch "${dir}/poweroff"; exit 0 ;;
  *) echo "ran: $last"; exit 4 ;;
esac`);
}

async function start(extra: Partial<Parameters<typeof startGuest>[0]> = {}): Promise<Guest> {
  guest = await startGuest({
    artifact,
    accelerator: 'tcg',
    qemuBinary: await fakeQemu(),
    timeoutSeconds: 20,
    ssh: { keyFile: key, user: 'root', port: 45022, binary: await fakeSsh(), timeoutSeconds: 20 },
    ...extra,
  });
  return guest;
}

describe('startGuest', () => {
  it('waits for the login prompt, then runs commands over SSH through the forwarded port once sshd answers', async () => {
    const session = await start();
    const login = await session.waitForLogin();
    expect(login).toMatchObject({ ok: true, accelerator: 'tcg', logPath: `${artifact}.bios.serial.log` });
    expect(login.phases.map((phase) => phase.name)).toEqual(['bootloader', 'kernel', 'initrd', 'userspace']);
    expect(session.sshPort).toBe(45022);
    expect(session.hostAddress).toBe('10.0.2.2');

    expect(await session.run('uname -a')).toEqual({ exitCode: 4, stdout: 'ran: uname -a\n', stderr: '' });
    const sshArgv = await readFile(join(dir, 'ssh-argv'), 'utf8');
    expect(sshArgv).toContain('-p\n45022\n');
    expect(sshArgv).toContain('root@127.0.0.1\nuname -a\n');
    expect(await readFile(join(dir, 'ssh-count'), 'utf8')).toBe('4\n'); // two refused, one answered, one command

    const qemuArgv = (await readFile(join(dir, 'qemu-argv'), 'utf8')).split('\n');
    expect(qemuArgv).toContain('user,id=net0,hostfwd=tcp:127.0.0.1:45022-:22');
    expect(qemuArgv).not.toContain('-no-reboot');
    expect(qemuArgv).toContain(`file=${artifact},if=none,id=boot0,format=qcow2`);
  });

  it('reboots over SSH and waits for the next boot\'s login prompt and sshd, timing the new boot from the restart', async () => {
    const session = await start();
    await session.waitForLogin();
    const again = await session.reboot();
    expect(again.ok).toBe(true);
    expect(again.markers.kernel).toBeLessThan(0.5);
    expect(await readFile(join(dir, 'ssh-argv'), 'utf8')).toContain('root@127.0.0.1\nsystemctl reboot\n');
    const log = await readFile(session.logPath, 'utf8');
    expect(log.match(/ros login: /g)).toHaveLength(2);
  });

  it('under OVMF turns the guest\'s reset into a power cycle: qemu starts again with the same arguments, and the reboot waits across it', async () => {
    const session = await start({ firmware: 'uefi', qemuBinary: await fakeQmpQemu() });
    await session.waitForLogin();
    const again = await session.reboot();
    expect(again.ok).toBe(true);
    expect(again.markers.kernel).toBeLessThan(1);
    const starts = (await readFile(join(dir, 'qemu-starts'), 'utf8')).trim().split('\n');
    expect(starts).toHaveLength(2);
    expect(starts[1]).toBe(starts[0]);
    expect(starts[0]).toMatch(/ -no-reboot .*-qmp unix:.*qmp\.sock,server=on,wait=off/);
    const log = await readFile(session.logPath, 'utf8');
    expect(log).toContain(POWER_CYCLE_LINE);
    expect(log.match(/ros login: /g)).toHaveLength(2);
    // A power-off stays one: qemu's end is reported, not followed by another start.
    await session.run('poweroff');
    expect(await session.waitForExit(10)).toEqual({ code: 0, signal: null });
    expect((await readFile(join(dir, 'qemu-starts'), 'utf8')).trim().split('\n')).toHaveLength(2);
  });

  it('reports qemu ending by itself when the guest powers off, and a timeout otherwise', async () => {
    const session = await start();
    await session.waitForLogin();
    expect(await session.waitForExit(0.3)).toBeUndefined();
    await session.run('poweroff');
    expect(await session.waitForExit(10)).toEqual({ code: 0, signal: null });
  });

  it('throws a BootError with the serial tail when the guest does not come up', async () => {
    guest = await startGuest({ artifact, accelerator: 'tcg', timeoutSeconds: 1, qemuBinary: await script('q', `printf 'BdsDxe: No bootable option\\r\\n'\nexec sleep 30`) });
    const error = await guest.waitForLogin().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BootError);
    expect((error as BootError).result.reason).toMatch(/^no bootable device: BdsDxe: No bootable option\nlast serial output:/);
    expect((error as BootError).message).toContain(`serial log: ${artifact}.bios.serial.log`);
  });

  it('types on the serial console and waits for what it prints, escape sequences removed even when a chunk cuts one', async () => {
    // A shell at the console: the prompt with bracketed-paste sequences (one cut across two writes), each typed line
    // answered. Enter is a carriage return on a serial line, as a person's terminal sends it.
    const shell = String.raw`printf 'ros login: rancher (automatic login)\r\n\033[?2004hrancher@ros:~$ '
exec bash -c 'while IFS= read -r -d $(printf "\r") line; do
  printf "\033[?20"; sleep 0.1; printf "04l\r\nyou typed: %s\r\n\033[?2004hrancher@ros:~$ " "$line"
done'`;
    guest = await startGuest({ artifact, accelerator: 'tcg', timeoutSeconds: 10, qemuBinary: await script('q', `${boot}\n${shell}`) });
    await guest.waitForLogin();
    await guest.console.expect(/rancher@ros:~\$ $/m);
    guest.console.type('hello\r');
    // Right after the prompt: nothing but the answer (the cut sequence removed whole).
    expect([...(await guest.console.expect(/^([^\n]*)\nyou typed: (\w+)\n/))].slice(1)).toEqual(['', 'hello']);
    await guest.console.expect(/rancher@ros:~\$ $/m);
    await expect(guest.console.expect(/never printed/, 0.3)).rejects.toThrow(/0\.3 s passed waiting for \/never printed\/ on the serial console; it printed:/);
  });

  it('refuses SSH work on a guest started without a key', async () => {
    guest = await startGuest({ artifact, accelerator: 'tcg', qemuBinary: await fakeQemu() });
    await expect(guest.run('true')).rejects.toThrow(/started without ssh options/);
  });

  it('passes extra drives, a forward to a host service and the snapshot request to qemu', async () => {
    const session = await start({
      snapshot: true,
      drives: [{ file: join(dir, 'seed.iso'), media: 'cdrom' }],
      network: { cidr: '169.254.0.0/16', guestForwards: [{ guestAddress: '169.254.169.254', guestPort: 80, command: ['cat'] }] },
    });
    await session.waitForLogin();
    expect(session.hostAddress).toBe('169.254.2.2');
    const qemuArgv = (await readFile(join(dir, 'qemu-argv'), 'utf8')).split('\n');
    expect(qemuArgv).toContain(`file=${artifact},if=none,id=boot0,format=qcow2,snapshot=on`);
    expect(qemuArgv).toContain(`file=${join(dir, 'seed.iso')},if=none,id=drive1,format=raw,media=cdrom,readonly=on`);
    expect(qemuArgv).toContain('user,id=net0,net=169.254.0.0/16,hostfwd=tcp:127.0.0.1:45022-:22,guestfwd=tcp:169.254.169.254:80-cmd:cat');
  });
});
