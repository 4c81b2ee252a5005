import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { Accelerator } from './qemu-args.js';

export const QEMU_BINARY = 'qemu-system-x86_64';

export interface AcceleratorDecision {
  accelerator: Accelerator;
  /** Why, in words a user can act on (shown in progress output). */
  reason: string;
}

export interface DetectOptions {
  qemuBinary?: string;
  /** How long the probe guest may take under KVM before KVM is judged unusable. */
  deadlineMs?: number;
}

/*
 * Why a probe guest instead of `-accel kvm -accel tcg`: qemu falls back to TCG
 * only when KVM fails to initialise. On some nested hosts /dev/kvm opens and
 * initialises fine, yet every guest instruction traps (measured: ~1 M
 * instructions/s, a Linux kernel never prints its first line in minutes). So
 * KVM is used only after it has run real guest code at hardware speed.
 *
 * The probe is a 64 KiB firmware image, hand-assembled below: from the reset
 * vector it enters protected mode, builds one 2 MiB identity page, enters long
 * mode (where a Linux kernel runs), counts down 16 Mi iterations and writes to
 * qemu's isa-debug-exit port. Real KVM finishes in milliseconds, TCG in about
 * 0.2 s; the broken case takes tens of seconds and is cut off by the deadline.
 */
const PROBE_ITERATIONS_HEX = '00000001'; // 0x01000000, little-endian
const PROBE_CODE = [
  // 16-bit real mode, CS base 0xF0000 after the far jump from the reset vector
  'fa', //                       cli
  'b800f0', //                   mov ax, 0xF000
  '8ed8', //                     mov ds, ax
  '31c0', //                     xor ax, ax
  '8ec0', //                     mov es, ax
  'beb000', //                   mov si, GDT_OFFSET (0xB0)
  'bf0080', //                   mov di, 0x8000
  'b92600', //                   mov cx, 38 (GDT + its pointer)
  'fc', //                       cld
  'f3a4', //                     rep movsb: copy GDT to RAM; one nested hypervisor hangs loading descriptors from ROM
  '8ed8', //                     mov ds, ax (0)
  '660f01162080', //             lgdt [0x8020]
  '0f20c0', //                   mov eax, cr0
  '6625ffffff9f', //             and eax, ~(CD|NW): caches on, as real firmware runs
  '6683c801', //                 or eax, PE
  '0f22c0', //                   mov cr0, eax
  '66ea36000f000800', //         jmp dword 0x08:0xF0036
  // 32-bit protected mode
  '66b81000', //                 mov ax, 0x10
  '8ed8', '8ec0', '8ed0', //     mov ds/es/ss, ax
  'bf00000100', //               mov edi, 0x10000
  '31c0', //                     xor eax, eax
  'b9000c0000', //               mov ecx, 3072
  'f3ab', //                     rep stosd: clear PML4, PDPT, PD
  'c70500000100' + '03100100', // mov [0x10000], 0x11003 (PML4[0] -> PDPT)
  'c70500100100' + '03200100', // mov [0x11000], 0x12003 (PDPT[0] -> PD)
  'c70500200100' + '83000000', // mov [0x12000], 0x83 (PD[0]: 2 MiB page at 0)
  '0f20e0', '83c820', '0f22e0', // cr4 |= PAE
  'b800000100', '0f22d8', //     cr3 = 0x10000
  'b9800000c0', '0f32', '0d00010000', '0f30', // EFER |= LME
  '0f20c0', '0d00000080', '0f22c0', // cr0 |= PG
  'ea9d000f001800', //           jmp 0x18:0xF009D
  // 64-bit long mode
  `b9${PROBE_ITERATIONS_HEX}`, // mov ecx, 0x01000000
  'ffc9', '75fc', //             1: dec ecx; jnz 1b
  'b031', 'e6f4', //             out 0xF4, 0x31: qemu exits with status (0x31 << 1) | 1
  'f4', 'ebfd', //               2: hlt; jmp 2b
].join('');
const PROBE_GDT_OFFSET = 0xb0;
const PROBE_GDT = [
  '0000000000000000', // null
  'ffff0000009acf00', // 0x08: 32-bit code, flat
  'ffff00000092cf00', // 0x10: data, flat
  'ffff0000009aaf00', // 0x18: 64-bit code
  '1f00' + '00800000', // GDT pointer: limit 31, base 0x8000 (where the code copies it)
].join('');
const PROBE_RESET_VECTOR = 'ea0000' + '00f0'; // jmp 0xF000:0x0000
export const PROBE_EXIT_STATUS = (0x31 << 1) | 1;
const PROBE_DEADLINE_MS = 3000;

/** The probe firmware image: 64 KiB, so qemu maps it just below 1 MiB and 4 GiB like a BIOS. */
export function buildProbeFirmware(): Buffer {
  const image = Buffer.alloc(0x10000, 0xf4); // hlt everywhere a stray jump could land
  const code = Buffer.from(PROBE_CODE, 'hex');
  if (code.length > PROBE_GDT_OFFSET) throw new Error('probe code overlaps its GDT');
  code.copy(image, 0);
  Buffer.from(PROBE_GDT, 'hex').copy(image, PROBE_GDT_OFFSET);
  Buffer.from(PROBE_RESET_VECTOR, 'hex').copy(image, 0xfff0);
  return image;
}

export function buildProbeArgs(firmwarePath: string, accelerator: Accelerator): string[] {
  return [
    '-no-user-config', '-nodefaults',
    '-machine', 'pc',
    '-accel', accelerator,
    '-m', '16',
    '-display', 'none', '-serial', 'none', '-monitor', 'none',
    '-bios', firmwarePath,
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
  ];
}

const decisions = new Map<string, Promise<AcceleratorDecision>>();

/**
 * KVM when it can run a guest at hardware speed here, TCG otherwise. The probe
 * runs once per process and qemu binary; concurrent callers share it.
 */
export function detectAccelerator(options: DetectOptions = {}): Promise<AcceleratorDecision> {
  const binary = options.qemuBinary ?? QEMU_BINARY;
  let decision = decisions.get(binary);
  if (!decision) {
    decision = decideAccelerator(binary, options.deadlineMs ?? PROBE_DEADLINE_MS);
    // A missing qemu is the user's to fix; do not remember it past this call.
    decision.catch(() => decisions.delete(binary));
    decisions.set(binary, decision);
  }
  return decision;
}

async function decideAccelerator(binary: string, deadlineMs: number): Promise<AcceleratorDecision> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accelerator: 'tcg', reason: '/dev/kvm is missing or not accessible to this user' };
  }
  const dir = await mkdtemp(join(tmpdir(), 'ros-build-kvm-probe-'));
  try {
    const firmware = join(dir, 'probe.bin');
    await writeFile(firmware, buildProbeFirmware());
    const started = performance.now();
    const outcome = await runProbe(binary, buildProbeArgs(firmware, 'kvm'), deadlineMs);
    const ms = Math.round(performance.now() - started);
    if (outcome.kind === 'exited' && outcome.code === PROBE_EXIT_STATUS) {
      return { accelerator: 'kvm', reason: `KVM ran the probe guest in ${ms} ms` };
    }
    if (outcome.kind === 'deadline') {
      return {
        accelerator: 'tcg',
        reason: `KVM initialises but ran the probe guest too slowly (over ${deadlineMs} ms; nested virtualisation?)`,
      };
    }
    const detail = outcome.kind === 'exited' ? outcome.stderr.trim().split('\n').pop() : undefined;
    return { accelerator: 'tcg', reason: `KVM is not usable${detail ? `: ${detail}` : ''}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type ProbeOutcome = { kind: 'exited'; code: number | null; stderr: string } | { kind: 'deadline' };

function runProbe(binary: string, args: string[], deadlineMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    // SIGKILL: the probe has no state worth a graceful shutdown, and a guest stuck in KVM may be slow to react.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? missingQemuError(binary) : error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(timedOut ? { kind: 'deadline' } : { kind: 'exited', code, stderr });
    });
  });
}

export function missingQemuError(binary: string): UserError {
  return new UserError(`${binary} was not found, which is required to boot images`, 'apt-get install qemu-system-x86');
}
