/**
 * Azure's end of provisioning, without its agent: Azure counts a VM as
 * provisioned only once the guest reports Ready to the wireserver, and fails
 * the deployment after a timeout otherwise. The exchange, as Azure documents
 * it for images without a provisioning agent: GET the goal state
 * (`/machine/?comp=goalstate`, header `x-ms-version: 2012-11-30`) for its
 * incarnation, container and role instance, then POST a Health document
 * (`/machine/?comp=health`) whose State is Ready, or NotReady with the
 * substatus ProvisioningFailed and a description when the configuration
 * failed. Sent on every boot at the end of the runtime phase: a VM made from
 * a specialized disk (no provisioning disc) needs it as much as a new one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requestHttp } from '../datasources/http.js';
import { escapeXml, parseXml, textOf } from '../../xml.js';
import type { NodeSystem } from '../system.js';

/** The wireserver's fixed address on every Azure VM. */
export const WIRESERVER = 'http://168.63.129.16';
const VERSION_HEADERS = { 'x-ms-version': '2012-11-30', 'x-ms-agent-name': 'ros' };
/** The DMI chassis asset tag of every Azure VM (Hyper-V elsewhere has another). */
const AZURE_ASSET_TAG = '7783-7084-3265-9085-8269-3286-77';
/** Hyper-V gives the wireserver a moment after the network comes up: a few tries, about 30 s in all. */
const ATTEMPTS = 5;
const FIRST_DELAY_MS = 1_000;
const REQUEST_TIMEOUT_MS = 5_000;

export interface ReadyReport {
  /** Undefined: Ready. Otherwise what failed, for the portal's provisioning error. */
  failure?: string;
  baseUrl?: string;
  log: (line: string) => void;
  /** For tests: no waiting between attempts. */
  delayMs?: number;
}

/** On Azure (its data source answered, or the chassis says so), report the end of provisioning; elsewhere nothing. */
export async function reportIfOnAzure(system: NodeSystem, answeredSource: string | undefined, failure: string | undefined): Promise<void> {
  if (answeredSource !== 'azure' && !(await isAzureChassis(system.root))) return;
  await reportToWireserver({ failure, log: (line) => system.log(`ros: azure: ${line}`) });
}

async function isAzureChassis(root: string): Promise<boolean> {
  const tag = await readFile(join(root, '/sys/class/dmi/id/chassis_asset_tag'), 'utf8').catch(() => '');
  return tag.trim() === AZURE_ASSET_TAG;
}

/** Fetch the goal state and post the health report; true once the wireserver took it. Never throws: a failed report is logged. */
export async function reportToWireserver(report: ReadyReport): Promise<boolean> {
  const baseUrl = (report.baseUrl ?? WIRESERVER).replace(/\/+$/, '');
  const state = report.failure === undefined ? 'Ready' : 'NotReady (ProvisioningFailed)';
  let delay = report.delayMs ?? FIRST_DELAY_MS;
  let last = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const goal = await readGoalState(baseUrl);
      const response = await requestHttp(`${baseUrl}/machine/?comp=health`, {
        method: 'POST',
        headers: { ...VERSION_HEADERS, 'Content-Type': 'text/xml;charset=utf-8' },
        body: renderHealth(goal, report.failure),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      if (response.status !== 200) throw new Error(`HTTP ${response.status} for the health report`);
      report.log(`reported ${state} to the wireserver (incarnation ${goal.incarnation})`);
      return true;
    } catch (error) {
      last = (error as Error).message;
    }
    if (attempt < ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, delay));
    delay *= 2;
  }
  report.log(`error: could not report ${state} to the wireserver after ${ATTEMPTS} attempts: ${last}; Azure will count the provisioning as failed`);
  return false;
}

export interface GoalState {
  incarnation: string;
  containerId: string;
  instanceId: string;
}

async function readGoalState(baseUrl: string): Promise<GoalState> {
  const response = await requestHttp(`${baseUrl}/machine/?comp=goalstate`, { headers: VERSION_HEADERS, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  if (response.status !== 200) throw new Error(`HTTP ${response.status} for the goal state`);
  return parseGoalState(response.body.toString('utf8'));
}

/** The three values a health report echoes back; a goal state without one of them is an error naming it. */
export function parseGoalState(text: string): GoalState {
  const root = parseXml(text);
  const field = (name: string): string => {
    const value = textOf(root, name);
    if (value === undefined) throw new Error(`the goal state has no ${name}`);
    return value;
  };
  return { incarnation: field('Incarnation'), containerId: field('ContainerId'), instanceId: field('InstanceId') };
}

/** The Health document: Ready, or NotReady with ProvisioningFailed and what failed (shortened: the portal shows a line). */
export function renderHealth(goal: GoalState, failure: string | undefined): string {
  const health =
    failure === undefined
      ? '<State>Ready</State>'
      : `<State>NotReady</State><Details><SubStatus>ProvisioningFailed</SubStatus><Description>${escapeXml(failure.slice(0, 512))}</Description></Details>`;
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">',
    `<GoalStateIncarnation>${escapeXml(goal.incarnation)}</GoalStateIncarnation>`,
    `<Container><ContainerId>${escapeXml(goal.containerId)}</ContainerId>`,
    `<RoleInstanceList><Role><InstanceId>${escapeXml(goal.instanceId)}</InstanceId><Health>${health}</Health></Role></RoleInstanceList>`,
    '</Container></Health>',
    '',
  ].join('\n');
}
