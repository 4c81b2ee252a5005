/**
 * The one thing the harness asks qemu's machine protocol (QMP): why the
 * machine stopped. With -no-reboot, a guest's reset and its power-off both end
 * qemu with exit code 0; only the SHUTDOWN event's reason ("guest-reset",
 * "guest-shutdown", …) tells them apart.
 */
import { connect, type Socket } from 'node:net';

export class QmpShutdownWatch {
  private lastReason: string | undefined;
  private buffered = '';

  private constructor(
    private readonly socket: Socket,
    /** Resolves when qemu closed the connection: every event it sent has been read. */
    readonly ended: Promise<void>,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.onData(text));
  }

  /** Connect to qemu's `-qmp unix:PATH,server=on,wait=off` socket, waiting up to timeoutMs for qemu to create it (unless qemu is gone). */
  static async connect(path: string, gone: () => boolean, timeoutMs = 10_000): Promise<QmpShutdownWatch> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const socket = connect(path);
      const ended = new Promise<void>((resolveEnded) => socket.once('close', () => resolveEnded()));
      try {
        await new Promise<void>((resolveConnect, rejectConnect) => {
          socket.once('connect', resolveConnect);
          socket.once('error', rejectConnect);
        });
        socket.on('error', () => undefined); // qemu exiting resets the connection: that is its end, not a fault
        return new QmpShutdownWatch(socket, ended);
      } catch (error) {
        socket.destroy();
        const code = (error as NodeJS.ErrnoException).code;
        if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || gone() || performance.now() > deadline) {
          throw new Error(`could not reach qemu's QMP socket ${path}: ${(error as Error).message}`);
        }
        await new Promise((resolveWait) => setTimeout(resolveWait, 50));
      }
    }
  }

  /** The reason of the last SHUTDOWN event ("guest-reset" for a reset under -no-reboot), if any. */
  get shutdownReason(): string | undefined {
    return this.lastReason;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(text: string): void {
    this.buffered += text;
    const lines = this.buffered.split('\n');
    this.buffered = lines.pop() ?? '';
    for (const line of lines) {
      let message: { QMP?: unknown; event?: string; data?: { reason?: string } };
      try {
        message = JSON.parse(line);
      } catch {
        continue;
      }
      // qemu sends events only once capabilities are negotiated.
      if (message.QMP !== undefined) this.socket.write('{"execute":"qmp_capabilities"}\n');
      if (message.event === 'SHUTDOWN') this.lastReason = message.data?.reason;
    }
  }
}
