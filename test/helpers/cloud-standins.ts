/**
 * Local stand-ins for clouds' metadata services: node:http servers on the
 * host that speak each cloud's documented protocol (not the clouds
 * themselves). Unit tests point the sources at them by URL; e2e tests join
 * them to the guest's link-local addresses with qemu's guestfwd.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandIn {
  url: string;
  port: number;
  /** Every request as "METHOD PATH". */
  requests: string[];
  close: () => Promise<void>;
}

type Handler = (request: IncomingMessage, body: string) => { status: number; body?: string; headers?: Record<string, string> };

async function serve(handle: Handler): Promise<StandIn> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push(`${request.method} ${request.url}`);
      const answer = handle(request, Buffer.concat(chunks).toString('utf8'));
      response.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface GceMetadata {
  hostname: string;
  /** `USER:KEY` lines, as `gcloud compute instances add-metadata --metadata ssh-keys=…` stores them. */
  instanceKeys?: string;
  projectKeys?: string;
  blockProjectKeys?: boolean;
  userData?: string;
}

/** GCE's metadata server: `Metadata-Flavor: Google` required on requests and sent on every answer. */
export function startGceStandIn(metadata: GceMetadata): Promise<StandIn> {
  const flavor = { 'Metadata-Flavor': 'Google', 'Content-Type': 'application/text' };
  const items: Record<string, string | undefined> = {
    '/computeMetadata/v1/instance/hostname': metadata.hostname,
    '/computeMetadata/v1/instance/attributes/ssh-keys': metadata.instanceKeys,
    '/computeMetadata/v1/project/attributes/ssh-keys': metadata.projectKeys,
    '/computeMetadata/v1/instance/attributes/block-project-ssh-keys': metadata.blockProjectKeys === undefined ? undefined : String(metadata.blockProjectKeys),
    '/computeMetadata/v1/instance/attributes/user-data': metadata.userData,
  };
  return serve((request) => {
    if (request.headers['metadata-flavor'] !== 'Google') return { status: 403, headers: flavor, body: 'Missing Metadata-Flavor:Google header.' };
    const item = items[request.url ?? ''];
    return item === undefined ? { status: 404, headers: flavor, body: 'not found' } : { status: 200, headers: flavor, body: item };
  });
}

export interface AzureInstance {
  computerName: string;
  /** `compute.publicKeys[].keyData`. */
  publicKeys: string[];
  /** IMDS user data (not custom data, which is on the provisioning disc). */
  userData?: string;
}

export interface AzureStandIns {
  imds: StandIn;
  wireserver: StandIn;
  /** The Health documents posted to the wireserver, in order. */
  healthReports: string[];
  goalState: { incarnation: string; containerId: string; instanceId: string };
  close: () => Promise<void>;
}

/** Azure's IMDS (header `Metadata: true`) and wireserver (goal state, health reports), each on its own port. */
export async function startAzureStandIns(instance: AzureInstance): Promise<AzureStandIns> {
  const goalState = { incarnation: '3', containerId: 'c6d5f4a3-0000-4000-8000-e2e000000001', instanceId: 'e2e-vm-instance.ros_e2e_0' };
  const imds = await serve((request) => {
    if (request.headers['metadata'] !== 'true') return { status: 400, body: '{"error":"Bad request. Required metadata header not specified"}' };
    const path = (request.url ?? '').split('?')[0];
    if (path === '/metadata/instance/compute/userData') return { status: 200, body: Buffer.from(instance.userData ?? '').toString('base64') };
    if (path === '/metadata/instance/compute') {
      return { status: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ osProfile: { computerName: instance.computerName }, publicKeys: instance.publicKeys.map((keyData) => ({ keyData, path: '/home/azureuser/.ssh/authorized_keys' })) }) };
    }
    return { status: 404, body: '{"error":"Not found"}' };
  });
  const healthReports: string[] = [];
  const wireserver = await serve((request, body) => {
    if (request.headers['x-ms-version'] !== '2012-11-30') return { status: 400, body: 'x-ms-version required' };
    if (request.method === 'GET' && request.url === '/machine/?comp=goalstate') {
      return {
        status: 200,
        headers: { 'Content-Type': 'text/xml; charset=utf-8' },
        body: `<?xml version="1.0" encoding="utf-8"?>\n<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Version>2012-11-30</Version><Incarnation>${goalState.incarnation}</Incarnation><Machine><ExpectedState>Started</ExpectedState></Machine><Container><ContainerId>${goalState.containerId}</ContainerId><RoleInstanceList><RoleInstance><InstanceId>${goalState.instanceId}</InstanceId><State>Started</State></RoleInstance></RoleInstanceList></Container></GoalState>\n`,
      };
    }
    if (request.method === 'POST' && request.url === '/machine/?comp=health') {
      healthReports.push(body);
      return { status: 200 };
    }
    return { status: 404 };
  });
  return {
    imds,
    wireserver,
    healthReports,
    goalState,
    close: async () => {
      await Promise.all([imds.close(), wireserver.close()]);
    },
  };
}

/** Azure's ovf-env.xml as the provisioning disc of a VM made from a generalized image carries it. */
export function renderAzureOvfEnv(options: { hostname: string; userName: string; publicKeys: string[]; customData?: string }): string {
  const keys = options.publicKeys
    .map((key) => `<ns1:PublicKey><ns1:Fingerprint>0000000000000000000000000000000000000000</ns1:Fingerprint><ns1:Path>/home/${options.userName}/.ssh/authorized_keys</ns1:Path><ns1:Value>${key}</ns1:Value></ns1:PublicKey>`)
    .join('');
  const customData = options.customData === undefined ? '' : `<ns1:CustomData>${Buffer.from(options.customData).toString('base64')}</ns1:CustomData>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<ns0:Environment xmlns:ns0="http://schemas.dmtf.org/ovf/environment/1" xmlns:ns1="http://schemas.microsoft.com/windowsazure" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
  <ns1:ProvisioningSection><ns1:Version>1.0</ns1:Version>
    <ns1:LinuxProvisioningConfigurationSet>
      <ns1:ConfigurationSetType>LinuxProvisioningConfiguration</ns1:ConfigurationSetType>
      <ns1:HostName>${options.hostname}</ns1:HostName>
      <ns1:UserName>${options.userName}</ns1:UserName>
      <ns1:DisableSshPasswordAuthentication>true</ns1:DisableSshPasswordAuthentication>
      <ns1:SSH><ns1:PublicKeys>${keys}</ns1:PublicKeys></ns1:SSH>
      ${customData}
    </ns1:LinuxProvisioningConfigurationSet>
  </ns1:ProvisioningSection>
  <ns1:PlatformSettingsSection><ns1:Version>1.0</ns1:Version><ns1:PlatformSettings><ns1:KmsServerHostname>kms.core.windows.net</ns1:KmsServerHostname><ns1:ProvisionGuestAgent>false</ns1:ProvisionGuestAgent></ns1:PlatformSettings></ns1:PlatformSettingsSection>
</ns0:Environment>
`;
}

/** vSphere's OVF environment (transport iso) with the properties the OVA declares. */
export function renderVsphereOvfEnv(properties: Record<string, string>): string {
  const entries = Object.entries(properties)
    .map(([key, value]) => `      <Property oe:key="${key}" oe:value="${value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/\n/g, '&#10;')}"/>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" xmlns:ve="http://www.vmware.com/schema/ovfenv" oe:id="" ve:vCenterId="vm-e2e">
  <PlatformSection><Kind>VMware ESXi</Kind><Version>8.0.2</Version><Vendor>VMware, Inc.</Vendor><Locale>en</Locale></PlatformSection>
  <PropertySection>
${entries}
  </PropertySection>
</Environment>
`;
}

export interface AwsInstance {
  localHostname: string;
  /** `public-keys/0/openssh-key`. */
  publicKey: string;
  userData?: string;
}

/** EC2's instance metadata service, IMDSv2 only: a PUT for a token first, then every GET carries it. */
export function startAwsStandIn(instance: AwsInstance): Promise<StandIn> {
  const token = 'e2e-imds-token';
  return serve((request) => {
    if (request.method === 'PUT' && request.url === '/latest/api/token') {
      return request.headers['x-aws-ec2-metadata-token-ttl-seconds'] ? { status: 200, body: token } : { status: 400 };
    }
    if (request.headers['x-aws-ec2-metadata-token'] !== token) return { status: 401 };
    const items: Record<string, string | undefined> = {
      '/latest/user-data': instance.userData,
      '/latest/meta-data/local-hostname': instance.localHostname,
      '/latest/meta-data/public-keys/': '0=e2e-key',
      '/latest/meta-data/public-keys/0/openssh-key': `${instance.publicKey}\n`,
    };
    const item = items[request.url ?? ''];
    return item === undefined ? { status: 404 } : { status: 200, body: item };
  });
}
