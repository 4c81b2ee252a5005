/**
 * What to install where, from the command line first and then `ros.install.*`
 * of the merged configuration (kernel command line over the medium's config
 * over the image's defaults, as every other key: docs/configuration.md). One function,
 * pure, so the precedence is tested without a system.
 */
import type { InstallConfig } from '../../config/types.js';

/** `ros install`'s options; undefined means "not given here", so the configuration decides. */
export interface InstallOptions {
  device?: string;
  /** A config file or http(s) URL for COS_OEM (ros.install.config_url). */
  config?: string;
  silent?: boolean;
  powerOff?: boolean;
  /** false: stop after writing (tests, and people who want to look first). */
  reboot?: boolean;
  noFormat?: boolean;
  /** Accepted for rancher/os2's sake: both BIOS and UEFI boot code are always written. */
  forceEfi?: boolean;
  /** Take everything from ros.install.*, and do nothing unless ros.install.automatic (or fallback_mode) says so. */
  automatic?: boolean;
  debug?: boolean;
  /** Where progress (and prompts, when it is asked for) go, e.g. /dev/ttyS0. */
  tty?: string;
  /** Install this OCI image instead of the running one (ros.install.image). */
  image?: string;
  /** The cosign key it must be signed with (ros.install.verify_key). */
  verifyKey?: string;
  allowHttp?: boolean;
  /** Install from an ISO fetched over HTTP (ros.install.iso_url). */
  isoUrl?: string;
}

export type InstallTrigger =
  /** `ros install` run by someone: they meant it. */
  | 'explicit'
  /** ros.install.automatic=true: install onto the device whatever is on it. */
  | 'automatic'
  /** ros.install.fallback_mode=install: install only when the device holds no installed system yet. */
  | 'fallback';

export interface InstallRequest {
  trigger: InstallTrigger;
  device?: string;
  configSource?: string;
  silent: boolean;
  noFormat: boolean;
  powerOff: boolean;
  reboot: boolean;
  debug: boolean;
  tty?: string;
  image?: string;
  verifyKey?: string;
  allowHttp: boolean;
  isoUrl?: string;
}

/**
 * The request, or undefined in automatic mode when the configuration does
 * not ask for an install (the unit runs on every live boot: that is no error).
 */
export function resolveInstallRequest(options: InstallOptions, install: InstallConfig = {}): InstallRequest | undefined {
  let trigger: InstallTrigger = 'explicit';
  if (options.automatic) {
    if (install.automatic === true) trigger = 'automatic';
    else if (install.fallback_mode === 'install') trigger = 'fallback';
    else return undefined;
  }
  return {
    trigger,
    device: options.device ?? install.device,
    configSource: options.config ?? install.config_url,
    silent: options.silent ?? install.silent ?? false,
    noFormat: options.noFormat ?? install.no_format ?? false,
    powerOff: options.powerOff ?? install.power_off ?? false,
    reboot: options.reboot ?? true,
    debug: options.debug ?? install.debug ?? false,
    tty: options.tty ?? install.tty,
    image: options.image ?? install.image,
    verifyKey: options.verifyKey ?? install.verify_key,
    allowHttp: options.allowHttp ?? install.allow_http ?? false,
    isoUrl: options.isoUrl ?? install.iso_url,
  };
}
