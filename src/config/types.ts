/**
 * The node's configuration (docs/configuration.md): one cloud-config style
 * document, merged from several sources. Shared by ros-build (validate) and
 * the node's own tool `ros` (show, validate, apply).
 */

/** A command: a shell line, or an argv list run without a shell. */
export type Command = string | string[];

export interface WriteFile {
  path: string;
  /** Text, or bytes when the YAML used `!!binary`. */
  content?: string | Uint8Array;
  encoding?: string;
  /** `user:group` (or `user`). */
  owner?: string;
  /** Octal string, e.g. "0644". */
  permissions?: string;
}

export interface InstallConfig {
  automatic?: boolean;
  device?: string;
  config_url?: string;
  silent?: boolean;
  force_efi?: boolean;
  no_format?: boolean;
  power_off?: boolean;
  tty?: string;
  debug?: boolean;
  fallback_mode?: string;
  image?: string;
  verify_key?: string;
  allow_http?: boolean;
  iso_url?: string;
}

export interface UpgradeConfig {
  image?: string;
  verify_key?: string;
}

export interface RosConfig {
  data_sources?: string[];
  modules?: string[];
  sysctl?: Record<string, string>;
  dns_nameservers?: string[];
  ntp_servers?: string[];
  password?: string;
  environment?: Record<string, string>;
  install?: InstallConfig;
  upgrade?: UpgradeConfig;
}

export interface NodeConfig {
  ssh_authorized_keys?: string[];
  write_files?: WriteFile[];
  hostname?: string;
  init_cmd?: Command[];
  boot_cmd?: Command[];
  run_cmd?: Command[];
  ros?: RosConfig;
  /** Kubernetes keys of the family and `wifi`: accepted, reported as not applied. */
  [key: string]: unknown;
}

export type Phase = 'init' | 'boot' | 'runtime';
