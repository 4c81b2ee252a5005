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

export type KubernetesDistribution = 'rke2' | 'k3s';

export interface KubernetesConfig {
  distribution?: KubernetesDistribution;
  version?: string;
  image?: string;
  verify_key?: string;
  allow_http?: boolean;
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
  kubernetes?: KubernetesConfig;
  server_url?: string;
  /** A secret: masked, never logged, files 0600. */
  token?: string;
  labels?: Record<string, string | number | boolean>;
  taints?: string[];
  rke2_args?: string[];
  k3s_args?: string[];
}

export interface NodeConfig {
  ssh_authorized_keys?: string[];
  write_files?: WriteFile[];
  hostname?: string;
  init_cmd?: Command[];
  boot_cmd?: Command[];
  run_cmd?: Command[];
  ros?: RosConfig;
  /** The family's keys at the top level (k3OS's place for them) and `wifi`: accepted, reported as not applied. */
  [key: string]: unknown;
}

export type Phase = 'init' | 'boot' | 'runtime';
