/**
 * The live ISO's /boot/grub/grub.cfg, rendered from the handlebars template
 * iso/grub.cfg.hbs at the repository root.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { UserError } from '../errors.js';
import { validateVolumeLabel } from '../tools/xorriso.js';

/** iso/grub.cfg.hbs, found from this module: src/artifacts/ and dist/artifacts/ are both two levels below the root. */
export const DEFAULT_GRUB_TEMPLATE_PATH = fileURLToPath(new URL('../../iso/grub.cfg.hbs', import.meta.url));

export const DEFAULT_GRUB_TIMEOUT_SECONDS = 3;

export interface GrubConfigInput {
  /** Menu entry title; any text without control characters (it gets quoted for GRUB). */
  title: string;
  /** The ISO volume label; dracut finds the medium by it (root=live:CDLABEL=). */
  label: string;
  /** Extra kernel arguments, e.g. "console=ttyS0,115200 quiet". */
  cmdline: string;
  /** Seconds the menu waits before booting the default entry; default 3. */
  timeoutSeconds?: number;
}

/** What the template sees: every field present (strict mode rejects anything else). */
export interface GrubTemplateVars {
  title: string;
  label: string;
  cmdline: string;
  /** The command line of the debug entry: without quiet, so every kernel and systemd message reaches the console. */
  debugCmdline: string;
  timeoutSeconds: number;
}

/** Quote text as one GRUB script word: single quotes, with ' written as '\''. */
export function grubQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function createEnvironment(): typeof Handlebars {
  const hb = Handlebars.create();
  // {{grubQuote a b ...}}: the arguments joined and quoted as one GRUB word.
  hb.registerHelper('grubQuote', (...args: unknown[]) => {
    // The last argument is handlebars' options object. Strict mode does not
    // cover helper arguments, so a missing variable arrives as undefined.
    const options = args.at(-1) as { loc?: { start?: { line?: number; column?: number } } } | undefined;
    const parts = args.slice(0, -1);
    if (parts.some((p) => p === undefined || p === null)) {
      const start = options?.loc?.start;
      const where = start ? ` at line ${start.line}, column ${start.column}` : '';
      throw new Error(`grubQuote was given a variable that is not defined${where}`);
    }
    return grubQuote(parts.map((p) => String(p)).join(''));
  });
  return hb;
}

/** Check the input and fill in defaults. */
export function grubTemplateVars(input: GrubConfigInput): GrubTemplateVars {
  validateVolumeLabel(input.label);
  if (CONTROL_CHARACTERS.test(input.title)) {
    throw new UserError(`invalid ISO boot menu title ${JSON.stringify(input.title)}: it must not contain control characters such as newlines`);
  }
  if (CONTROL_CHARACTERS.test(input.cmdline)) {
    throw new UserError(
      `invalid kernel command line ${JSON.stringify(input.cmdline)}: it must be one line without control characters`,
      'a newline would end the GRUB "linux" command and run the rest as GRUB script',
    );
  }
  const timeoutSeconds = input.timeoutSeconds ?? DEFAULT_GRUB_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 0) {
    throw new UserError(`invalid GRUB menu timeout ${timeoutSeconds}: it must be a whole number of seconds, 0 or more`);
  }
  const cmdline = input.cmdline.trim();
  const debugCmdline = cmdline.split(/\s+/).filter((arg) => arg !== 'quiet').join(' ');
  return { title: input.title, label: input.label, cmdline, debugCmdline, timeoutSeconds };
}

/**
 * Render template text with `vars`. Strict mode: a variable the template uses
 * but `vars` lacks is an error, not an empty string. No HTML escaping.
 */
export function renderGrubTemplate(template: string, vars: Readonly<Record<string, unknown>>): string {
  const render = createEnvironment().compile(template, { strict: true, noEscape: true });
  return render(vars);
}

/**
 * Render grub.cfg from the template (default iso/grub.cfg.hbs). Synchronous
 * (the template is tiny) so callers can use the text directly, e.g. in a cache key.
 */
export function renderGrubConfig(input: GrubConfigInput, templatePath: string = DEFAULT_GRUB_TEMPLATE_PATH): string {
  const vars = grubTemplateVars(input);
  const template = readFileSync(templatePath, 'utf8');
  try {
    return renderGrubTemplate(template, { ...vars });
  } catch (error) {
    throw new Error(`cannot render GRUB config template ${templatePath}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
