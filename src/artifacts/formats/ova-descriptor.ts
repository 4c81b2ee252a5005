/**
 * The OVF descriptor of the OVA (OVF 1.x envelope, as vSphere imports it):
 * one virtual machine with the disk, a CD-ROM drive for the OVF environment
 * (transport `iso`), a VMXNET3 adapter on "VM Network", EFI firmware, and
 * the three properties the node's `ovf` data source reads, so vSphere asks
 * for them when the OVA is deployed.
 *
 * Hardware version vmx-14 (ESXi 6.7 and every later release import it);
 * the disk on an LSI Logic SCSI controller, matching the VMDK's own
 * adapter type. The rasd/vssd elements of each item are in the CIM schema's
 * (alphabetical) order, which the OVF schema requires.
 */
import { escapeXml } from '../../xml.js';

export interface OvaDescriptorInput {
  /** The virtual machine's name (the OVA's base name). */
  name: string;
  /** The VMDK member's file name and size in bytes. */
  diskFile: string;
  diskFileBytes: number;
  /** The disk's capacity in bytes (the raw disk's size). */
  capacityBytes: number;
}

export const OVA_PROPERTIES: ReadonlyArray<{ key: string; label: string; description: string }> = [
  { key: 'hostname', label: 'Host name', description: 'The host name of the node.' },
  { key: 'public-keys', label: 'SSH public keys', description: 'Keys that may log in as rancher, one per line.' },
  { key: 'user-data', label: 'User data (base64)', description: 'A #cloud-config document (or a script), base64-encoded.' },
];

const VMDK_STREAM_OPTIMIZED = 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized';

/** One hardware item: its rasd elements, sorted as the schema wants them. */
function item(fields: Record<string, string>, required = true): string {
  const elements = Object.keys(fields)
    .sort()
    .map((key) => `        <rasd:${key}>${escapeXml(fields[key]!)}</rasd:${key}>`);
  return [`      <Item${required ? '' : ' ovf:required="false"'}>`, ...elements, '      </Item>'].join('\n');
}

export function renderOvaDescriptor(input: OvaDescriptorInput): string {
  const name = escapeXml(input.name);
  const properties = OVA_PROPERTIES.map(
    (p) =>
      `      <Property ovf:key="${p.key}" ovf:type="string" ovf:userConfigurable="true" ovf:value="">\n        <Label>${escapeXml(p.label)}</Label>\n        <Description>${escapeXml(p.description)}</Description>\n      </Property>`,
  ).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
    <File ovf:id="file1" ovf:href="${escapeXml(input.diskFile)}" ovf:size="${input.diskFileBytes}"/>
  </References>
  <DiskSection>
    <Info>The virtual disk</Info>
    <Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="${input.capacityBytes}" ovf:capacityAllocationUnits="byte" ovf:format="${VMDK_STREAM_OPTIMIZED}"/>
  </DiskSection>
  <NetworkSection>
    <Info>The logical network the adapter joins</Info>
    <Network ovf:name="VM Network">
      <Description>The VM Network network</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="${name}">
    <Info>A RancherOS node</Info>
    <Name>${name}</Name>
    <OperatingSystemSection ovf:id="96" vmw:osType="debian11_64Guest">
      <Info>Debian GNU/Linux, 64-bit</Info>
    </OperatingSystemSection>
    <ProductSection>
      <Info>What the node reads from its OVF environment at boot</Info>
      <Product>${name}</Product>
${properties}
    </ProductSection>
    <VirtualHardwareSection ovf:transport="iso">
      <Info>Virtual hardware</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>${name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType>
      </System>
${item({ AllocationUnits: 'hertz * 10^6', Description: 'Number of virtual CPUs', ElementName: '2 virtual CPUs', InstanceID: '1', ResourceType: '3', VirtualQuantity: '2' })}
${item({ AllocationUnits: 'byte * 2^20', Description: 'Memory size', ElementName: '2048 MB of memory', InstanceID: '2', ResourceType: '4', VirtualQuantity: '2048' })}
${item({ Address: '0', Description: 'SCSI controller', ElementName: 'SCSI controller 0', InstanceID: '3', ResourceSubType: 'lsilogic', ResourceType: '6' })}
${item({ Address: '0', Description: 'IDE controller', ElementName: 'IDE controller 0', InstanceID: '4', ResourceType: '5' })}
${item({ AddressOnParent: '0', ElementName: 'Hard disk 1', HostResource: 'ovf:/disk/vmdisk1', InstanceID: '5', Parent: '3', ResourceType: '17' })}
${item({ AddressOnParent: '0', AutomaticAllocation: 'false', ElementName: 'CD/DVD drive 1 (the OVF environment)', InstanceID: '6', Parent: '4', ResourceType: '15' }, false)}
${item({ AddressOnParent: '7', AutomaticAllocation: 'true', Connection: 'VM Network', ElementName: 'Network adapter 1', InstanceID: '7', ResourceSubType: 'VmxNet3', ResourceType: '10' })}
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}
