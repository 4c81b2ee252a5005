/**
 * The smoke boot behind `ros-build boot` and `make smoke`: a guest session
 * that ends at the login prompt.
 */
import { BootError, startGuest, type BootResult, type GuestOptions } from './guest.js';

export { DEFAULT_TIMEOUT_SECONDS, type BootEvent, type BootResult } from './guest.js';

export type SmokeBootOptions = Omit<GuestOptions, 'ssh' | 'exitOnReboot'>;

/**
 * Boot an artifact in qemu and watch its serial console until it shows a login
 * prompt after reaching multi-user, fails, or runs out of time. qemu exits when
 * the guest reboots (a boot loop is a failure, not a wait for the timeout). qemu
 * is always stopped and the temporary firmware variables removed, also on
 * Ctrl-C; the serial log is kept. Throws only for problems with the request or
 * the host (missing artifact, qemu or OVMF); a guest that does not boot is a result.
 */
export async function smokeBoot(options: SmokeBootOptions): Promise<BootResult> {
  const guest = await startGuest({ ...options, exitOnReboot: true });
  try {
    return await guest.waitForLogin();
  } catch (error) {
    if (error instanceof BootError) return error.result;
    throw error;
  } finally {
    await guest.stop();
  }
}
