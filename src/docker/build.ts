import { createWriteStream } from 'node:fs';
import type Docker from 'dockerode';
import { StepError } from '../errors.js';
import type { Reporter } from '../progress/reporter.js';

export interface LayerBuild {
  step: string;
  contextDir: string;
  files: string[];
  dockerfile: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  tag: string;
  logPath: string;
}

interface BuildEvent {
  stream?: string;
  status?: string;
  aux?: { ID?: string };
  error?: string;
  errorDetail?: { message?: string; code?: number };
}

/**
 * Build one layer with the engine's builder and return the image ID.
 * The engine answers 200 even when a RUN fails: the failure is an event in the
 * stream, so every event is inspected. Intermediate containers are removed on
 * failure too (forcerm), so a failed build leaves none behind.
 */
export async function buildLayer(docker: Docker, build: LayerBuild, report: Reporter): Promise<string> {
  const log = createWriteStream(build.logPath);
  const tail: string[] = [];
  let instruction = '';
  let imageId: string | undefined;
  let failure: string | undefined;

  const stream = await docker.buildImage(
    { context: build.contextDir, src: build.files },
    {
      dockerfile: build.dockerfile,
      buildargs: build.buildArgs,
      labels: build.labels,
      t: build.tag,
      forcerm: true,
      rm: true,
    },
  );

  const onEvent = (event: BuildEvent) => {
    if (event.aux?.ID) imageId = event.aux.ID;
    if (event.error || event.errorDetail) {
      failure = event.errorDetail?.message ?? event.error;
      log.write(`ERROR: ${failure}\n`);
      return;
    }
    const text = event.stream ?? event.status;
    if (!text) return;
    log.write(text.endsWith('\n') ? text : `${text}\n`);
    for (const line of text.split('\n')) {
      const trimmed = line.trimEnd();
      if (!trimmed) continue;
      const step = /^Step \d+\/\d+ : (.*)$/.exec(trimmed);
      if (step) instruction = trimmed;
      tail.push(trimmed);
      if (tail.length > 40) tail.shift();
      report({ kind: 'step-status', step: build.step, text: trimmed, milestone: Boolean(step) });
    }
  };

  try {
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve()), onEvent);
    });
  } finally {
    await new Promise((resolve) => log.end(resolve));
  }

  if (failure !== undefined || !imageId) {
    const lines = tail.filter((line) => !/^ ---> |^Removing intermediate container/.test(line)).slice(-15);
    throw new StepError(
      build.step,
      `${instruction ? `${instruction}\n` : ''}${failure ?? 'the engine reported no image ID'}\n  last output:\n${lines.map((l) => `    ${l}`).join('\n')}`,
      build.logPath,
    );
  }
  return imageId;
}
