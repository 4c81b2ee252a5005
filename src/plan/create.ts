import type { BuildEnv } from './env.js';
import type { Plan, Step } from './step.js';
import { createBaseStep } from './steps/base.js';
import { createExistingImageStep, createTagStep } from './steps/image.js';
import { createDiskStep, type DiskOptions } from './steps/disk.js';
import { createIsoStep, type IsoOptions } from './steps/iso.js';
import { createLayerStep } from './steps/layer.js';
import { createNetbootStep, type NetbootOptions } from './steps/netboot.js';
import { prepareOverlayLayer } from './steps/overlay.js';
import { createRootfsStep } from './steps/rootfs.js';

/** base → each profile layer → overlays → REPO:TAG. */
export function createImageSteps(env: BuildEnv): Step[] {
  const steps: Step[] = [createBaseStep(env)];
  for (const layer of env.spec.layers) steps.push(createLayerStep(env, layer, steps.at(-1)!.name));
  const overlay = prepareOverlayLayer(env);
  if (overlay) steps.push(createLayerStep(env, overlay, steps.at(-1)!.name, 'overlays'));
  steps.push(createTagStep(env, steps.at(-1)!.name));
  return steps;
}

export function createBuildPlan(env: BuildEnv): Plan {
  return { steps: createImageSteps(env) };
}

/** Media from the spec's OS image, or from an image built FROM it (`--image`). */
export function createIsoPlan(env: BuildEnv, iso: IsoOptions & { image?: string }): Plan {
  const imageSteps = iso.image ? [createExistingImageStep(env, iso.image)] : createImageSteps(env);
  return { steps: [...imageSteps, createRootfsStep(env, 'image'), createIsoStep(env, iso)] };
}

/** Disk images from the spec's OS image or a derived one (`--image`). */
export function createDiskPlan(env: BuildEnv, disk: DiskOptions & { image?: string }): Plan {
  const imageSteps = disk.image ? [createExistingImageStep(env, disk.image)] : createImageSteps(env);
  return { steps: [...imageSteps, createRootfsStep(env, 'image'), createDiskStep(env, disk)] };
}

/** Network boot files from the spec's OS image or a derived one: the ISO's rootfs step, another artifact. */
export function createNetbootPlan(env: BuildEnv, netboot: NetbootOptions & { image?: string }): Plan {
  const imageSteps = netboot.image ? [createExistingImageStep(env, netboot.image)] : createImageSteps(env);
  return { steps: [...imageSteps, createRootfsStep(env, 'image'), createNetbootStep(env, netboot)] };
}
