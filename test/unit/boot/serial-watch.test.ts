import { describe, expect, it } from 'vitest';
import { cleanSerialLine, SerialWatcher, type WatchState } from '../../../src/boot/serial-watch.js';

const OK = '[\x1b[0;32m  OK  \x1b[0m]';

/** Abbreviated but byte-faithful Debian 12 live boot on ttyS0 (SeaBIOS sercon, GRUB, kernel, systemd, agetty). */
const debianBoot = [
  '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n',
  'Booting from DVD/CD...\r\n',
  '\x1b[0m\x1b[30m\x1b[47mWelcome to GRUB!\r\n\r\n',
  '[    0.000000] Linux version 6.1.0-50-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1\r\n',
  '[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz boot=live console=ttyS0,115200n8\r\n',
  '[    2.274508] Run /init as init process\r\n',
  '[   14.101021] systemd[1]: Inserted module \'autofs4\'\r\n',
  '\r\nWelcome to \x1b[1mDebian GNU/Linux 12 (bookworm)\x1b[0m!\r\n\r\n',
  `${OK} Created slice \x1b[0;1;39msystem-getty.slice\x1b[0m - Slice /system/getty.\r\n`,
  `${OK} Started \x1b[0;1;39mgetty@tty1.service\x1b[0m - Getty on tty1.\r\n`,
  `${OK} Started \x1b[0;1;39mserial-getty@ttyS0.service\x1b[0m - Serial Getty on ttyS0.\r\n`,
  `${OK} Reached target \x1b[0;1;39mmulti-user.target\x1b[0m - Multi-User System.\r\n`,
  `${OK} Reached target \x1b[0;1;39mgraphical.target\x1b[0m - Graphical Interface.\r\n`,
  '\r\n\x1b[H\x1b[2JDebian GNU/Linux 12 rancheros ttyS0\r\n\r\n',
  'rancheros login: ',
].join('');

function feedAll(watcher: SerialWatcher, chunks: string[], startSeconds = 0): WatchState {
  chunks.forEach((chunk, i) => watcher.feed(chunk, startSeconds + i));
  return watcher.state;
}

/** Split text at the given offsets. */
function splitAt(text: string, ...offsets: number[]): string[] {
  const bounds = [0, ...offsets, text.length];
  return bounds.slice(1).map((end, i) => text.slice(bounds[i], end));
}

describe('SerialWatcher', () => {
  it('reports success with every marker for a full boot', () => {
    const watcher = new SerialWatcher();
    watcher.feed(debianBoot, 42);
    expect(watcher.state).toEqual({ status: 'up' });
    // All arrived at once: the kernel line stamped 14.10 s proves the kernel started by 42 - 14.10 s.
    expect(watcher.markers).toEqual({ bootloader: 42, kernel: 42 - 14.101021, initrd: 42, 'switch-root': 42, 'multi-user': 42, login: 42 });
  });

  it('gives the same verdict wherever the output is split in two', () => {
    for (let offset = 1; offset < debianBoot.length; offset++) {
      const watcher = new SerialWatcher();
      const state = feedAll(watcher, splitAt(debianBoot, offset));
      expect(state, `split at ${offset}: ${JSON.stringify(debianBoot.slice(offset - 5, offset + 5))}`).toEqual({ status: 'up' });
      expect(Object.keys(watcher.markers).sort()).toEqual(['bootloader', 'initrd', 'kernel', 'login', 'multi-user', 'switch-root']);
    }
  });

  it('handles output arriving one character at a time', () => {
    const watcher = new SerialWatcher();
    expect(feedAll(watcher, [...debianBoot])).toEqual({ status: 'up' });
  });

  it('times a marker by the chunk that completes it, even when split inside an escape sequence', () => {
    const line = `${OK} Reached target \x1b[0;1;39mmulti-user.target\x1b[0m - Multi-User System.\r\n`;
    const watcher = new SerialWatcher();
    const cut = line.indexOf('[0;1;39m') + 3; // inside "\x1b[0;1;39m"
    watcher.feed(line.slice(0, cut), 10);
    expect(watcher.markers['multi-user']).toBeUndefined();
    const update = watcher.feed(line.slice(cut), 11);
    expect(update.markers).toEqual([{ name: 'multi-user', seconds: 11 }]);
    expect(update.lines).toEqual(['[  OK  ] Reached target multi-user.target - Multi-User System.']);
  });

  it('does not report success on a login prompt before multi-user is reached', () => {
    const watcher = new SerialWatcher();
    watcher.feed('[    1.0] Linux version 6.1.0\r\n', 1);
    watcher.feed('\r\nDebian GNU/Linux 12 rancheros ttyS0\r\n\r\nrancheros login: ', 30);
    expect(watcher.state).toEqual({ status: 'booting' });
    expect(watcher.markers.login).toBe(30);
    watcher.feed(`\r\n${OK} Reached target \x1b[0;1;39mmulti-user.target\x1b[0m - Multi-User System.\r\n`, 31);
    expect(watcher.state).toEqual({ status: 'up' });
  });

  it('does not report success on multi-user without a login prompt', () => {
    const watcher = new SerialWatcher();
    watcher.feed(`${OK} Reached target \x1b[0;1;39mmulti-user.target\x1b[0m - Multi-User System.\r\n`, 5);
    expect(watcher.state).toEqual({ status: 'booting' });
    watcher.feed('rancheros log', 6);
    expect(watcher.state).toEqual({ status: 'booting' });
    watcher.feed('in: ', 7);
    expect(watcher.state).toEqual({ status: 'up' });
    expect(watcher.markers.login).toBe(7);
  });

  it('recognises the wording of older systemd', () => {
    const watcher = new SerialWatcher();
    watcher.feed(`${OK} Reached target Multi-User System.\r\nros login: `, 3);
    expect(watcher.state).toEqual({ status: 'up' });
  });

  it('finds a prompt that a kernel message landed on', () => {
    const watcher = new SerialWatcher();
    watcher.feed(`${OK} Reached target multi-user.target - Multi-User System.\r\n`, 1);
    watcher.feed('rancheros login: [   40.123456] random: crng init done\r\n', 2);
    expect(watcher.state).toEqual({ status: 'up' });
  });

  it('does not mistake login-related log lines for a prompt', () => {
    const watcher = new SerialWatcher();
    watcher.feed(
      [
        `${OK} Started \x1b[0;1;39msystemd-logind.service\x1b[0m - User Login Management.\r\n`,
        '[   20.1] login[512]: pam_unix(login:session): session opened for user root\r\n',
        'Last login: Thu Nov 20 10:00:00 UTC 2025 on ttyS0\r\n',
      ].join(''),
      1,
    );
    expect(watcher.markers.login).toBeUndefined();
  });

  it('counts any timestamped printk line as the kernel when "quiet" hides the banner, dated back by its timestamp', () => {
    const watcher = new SerialWatcher();
    const update = watcher.feed('[    1.250000] ACPI Error: something harmless\r\n', 8.5);
    expect(update.markers).toEqual([{ name: 'kernel', seconds: 7.25 }]);
    // A later line that took less time to arrive moves the estimate earlier; one that took longer does not.
    watcher.feed('[   37.750000] overlayfs: failed to resolve \'/run/overlayfs\': -2\r\n', 44);
    expect(watcher.markers.kernel).toBe(6.25);
    watcher.feed('[   40.000000] sh[581]: ros: reached multi-user.target\r\n', 60);
    expect(watcher.markers.kernel).toBe(6.25);
  });

  it('fails at once on a kernel panic and says why', () => {
    const watcher = new SerialWatcher();
    const state = feedAll(watcher, [
      '[    0.000000] Linux version 6.1.0-50-amd64\r\n[    2.345678] VFS: Cannot open root device "sda1" or unknown-block(0,0): error -6\r\n[    2.3461',
      '00] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n[    2.346200] CPU: 0 PID: 1 Comm: swapper/0\r\n',
    ]);
    expect(state).toEqual({
      status: 'failed',
      reason: 'kernel panic: [    2.346100] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)',
    });
  });

  it('only warns on dracut timeout scripts, but fails on the emergency shell that can follow', () => {
    const watcher = new SerialWatcher();
    watcher.feed(
      [
        '[  130.1] dracut-initqueue[312]: Warning: dracut-initqueue: timeout, still waiting for following initqueue hooks:\r\n',
        '[  130.2] dracut-initqueue[312]: Warning: dracut-initqueue: starting timeout scripts\r\n',
        '[  190.3] dracut-initqueue[312]: Warning: /dev/disk/by-label/ROS does not exist\r\n',
        '         Starting \x1b[0;1;39mdracut-emergency.service\x1b[0m - Dracut Emergency Shell...\r\n',
        'Warning: /dev/disk/by-label/ROS does not exist\r\n\r\nGenerating "/run/initramfs/rdsosreport.txt"\r\n\r\n',
      ].join(''),
      190,
    );
    expect(watcher.state).toEqual({ status: 'booting' });
    watcher.feed('\r\nEntering emergency mode. Exit the shell to continue.\r\nType "journalctl" to view system logs.\r\n', 191);
    expect(watcher.state).toEqual({ status: 'failed', reason: 'emergency mode: Entering emergency mode. Exit the shell to continue.' });
    expect(watcher.tail(3)).toEqual([
      'Warning: /dev/disk/by-label/ROS does not exist',
      'Generating "/run/initramfs/rdsosreport.txt"',
      'Entering emergency mode. Exit the shell to continue.',
    ]);
  });

  it('fails on the systemd emergency and maintenance prompts', () => {
    const emergency = new SerialWatcher();
    emergency.feed('You are in emergency mode. After logging in, type "journalctl -xb" to view\r\n', 1);
    expect(emergency.state.status).toBe('failed');

    const maintenance = new SerialWatcher();
    maintenance.feed('Give root password for maintenance\r\n(or press Control-D to continue): ', 1);
    expect(maintenance.state).toEqual({ status: 'failed', reason: 'maintenance shell: Give root password for maintenance' });
  });

  it('fails on an initramfs shell prompt that has no newline yet', () => {
    const watcher = new SerialWatcher();
    watcher.feed('Gave up waiting for root file system device.\r\nBusyBox v1.35.0 (Debian 1:1.35.0-4+b3) built-in shell (ash)\r\n\r\n', 1);
    expect(watcher.state.status).toBe('booting');
    watcher.feed('(initramfs) ', 2);
    expect(watcher.state).toEqual({ status: 'failed', reason: 'initramfs shell: (initramfs)' });
  });

  it('fails when the firmware finds nothing to boot', () => {
    const bios = new SerialWatcher();
    bios.feed('Booting from DVD/CD...\r\nBoot failed: Could not read from CDROM (code 0004)\r\nNo bootable device.\r\n', 3);
    expect(bios.state.status).toBe('failed');

    const uefi = new SerialWatcher();
    uefi.feed('\x1b[=3h\x1b[=3hBdsDxe: failed to load Boot0001 "UEFI QEMU DVD-ROM QM00011 " from PciRoot(0x0): Not Found\r\n', 5);
    expect(uefi.state.status).toBe('booting');
    uefi.feed('\x1b[0m\x1b[35m\x1b[40mUEFI Interactive Shell v2.2\r\n', 6);
    expect(uefi.state).toEqual({ status: 'failed', reason: 'firmware fell through to the UEFI shell: UEFI Interactive Shell v2.2' });

    // Secure Boot refusing a loader signed with a key its db does not hold: said as such, not as "nothing to boot".
    const secure = new SerialWatcher();
    secure.feed('BdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Access Denied\r\n', 7);
    expect(secure.state).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^the firmware refused the boot loader \(Secure Boot: Access Denied\)/) });
  });

  it('stops judging once the system is up', () => {
    const watcher = new SerialWatcher();
    watcher.feed(debianBoot, 50);
    const update = watcher.feed('\r\n[   99.0] Kernel panic - not syncing: late\r\n', 99);
    expect(update).toEqual({ markers: [], lines: [] });
    expect(watcher.state).toEqual({ status: 'up' });
  });

  it('keeps the last lines, clean, with an unfinished prompt last', () => {
    const watcher = new SerialWatcher();
    watcher.feed(debianBoot, 1);
    expect(watcher.tail(3)).toEqual([
      '[  OK  ] Reached target graphical.target - Graphical Interface.',
      'Debian GNU/Linux 12 rancheros ttyS0',
      'rancheros login:',
    ]);
  });

  it('times the initramfs and the switch to the real root from a dracut + systemd live boot', () => {
    // Lines as this OS's ISO printed them (log of a real boot, escapes removed), one second apart.
    const lines = [
      '[    5.416773] Run /init as init process',
      '[    5.549837] systemd[1]: Inserted module \'autofs4\'',
      '[    5.719437] systemd[1]: Running in initrd.',
      'Welcome to Debian GNU/Linux 12 (bookworm) dracut-059-4 (Initramfs)!',
      `${OK} Reached target initrd-switch-root.target - Switch Root.`,
      '         Starting initrd-switch-root.service - Switch Root...',
      '[   19.277407] systemd-journald[146]: Received SIGTERM from PID 1 (systemd).',
      'Welcome to RancherOS it!',
    ];
    // Arrival times as from a kernel that started 10 s into the boot; the switch was started at 29 s.
    const arrivals = [15.5, 15.6, 15.8, 15.8, 29, 29, 29.3, 29.5];
    const watcher = new SerialWatcher();
    lines.forEach((line, i) => watcher.feed(`${line}\r\n`, arrivals[i]!));
    expect(watcher.markers.kernel).toBeCloseTo(10.02, 2);
    expect(watcher.markers).toMatchObject({ initrd: 15.5, 'switch-root': 29 });
  });

  it('finds GRUB when its banner is drawn with cursor moves inside the words', () => {
    const watcher = new SerialWatcher();
    watcher.feed('\x1b[0;30;47mWe\x1b[03;02H\x1b[03;03Hlcome to GRUB\x1b[H\x1b[J\x1b[1;1H\x1b[2;24HGNU GRUB  version 2.06-13+deb12u2\r\n', 4);
    expect(watcher.markers).toEqual({ bootloader: 4 });
  });

  it('takes a system booted without an initramfs as switched to its root when the kernel runs init', () => {
    const watcher = new SerialWatcher();
    watcher.feed('[    1.5] Run /sbin/init as init process\r\n', 3);
    expect(watcher.markers).toEqual({ kernel: 1.5, 'switch-root': 3 });
  });

  it('after a reboot, ignores the old system until the guest restarts and times the new boot from there', () => {
    const watcher = new SerialWatcher({ afterRestart: true });
    watcher.feed(`${OK} Stopped target multi-user.target - Multi-User System.\r\n[  120.1] systemd-shutdown[1]: Syncing filesystems\r\n`, 1);
    expect(watcher.restarted).toBe(false);
    expect(watcher.markers).toEqual({});
    watcher.feed('[  121.5] reboot: Restarting system\r\n', 2);
    expect(watcher.restarted).toBe(true);
    watcher.feed(debianBoot, 30);
    expect(watcher.state).toEqual({ status: 'up' });
    expect(watcher.markers).toEqual({ bootloader: 28, kernel: 28 - 14.101021, initrd: 28, 'switch-root': 28, 'multi-user': 28, login: 28 });
  });

  it('after a reboot, does not take the old prompt or a failure during shutdown for the new boot', () => {
    const watcher = new SerialWatcher({ afterRestart: true });
    watcher.feed('ros login: \r\nKernel panic - not syncing: Attempted to kill init!\r\n', 1);
    expect(watcher.state).toEqual({ status: 'booting' });
    expect(watcher.tail(1)).toEqual(['Kernel panic - not syncing: Attempted to kill init!']);
  });

  it('treats a lone carriage return as the end of a status line', () => {
    const watcher = new SerialWatcher();
    const update = watcher.feed('[  *** ] A start job is running for /dev/sda1 (5s / 1min 30s)\r\x1b[K[   **] A start job is running for /dev/sda1 (6s / 1min 30s)\r\n', 1);
    expect(update.lines).toHaveLength(2);
  });
});

describe('cleanSerialLine', () => {
  it('removes colour, cursor and OVMF mode escapes and control characters', () => {
    expect(cleanSerialLine('\x1b[=3h\x1b[0;32m  OK  \x1b[0m\x07 done\x1b[K  ')).toBe('  OK   done');
  });

  it('drops an escape sequence cut off at the end of an unfinished line', () => {
    expect(cleanSerialLine('ros login: \x1b[0;3', true)).toBe('ros login:');
    expect(cleanSerialLine('ros login: \x1b[0;3')).toBe('ros login: [0;3');
  });
});
