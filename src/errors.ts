/** A problem with what the user asked for: printed without a stack trace, with a hint. */
export class UserError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A step of the plan failed; carries where the full log is. */
export class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
    readonly logPath?: string,
  ) {
    super(message);
    this.name = 'StepError';
  }
}

export function formatError(error: unknown): string {
  if (error instanceof UserError) {
    return `error: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}`;
  }
  if (error instanceof StepError) {
    const log = error.logPath ? `\n  full log: ${error.logPath}` : '';
    return `error: step "${error.step}" failed: ${error.message}${log}`;
  }
  if (error instanceof Error) return `error: ${error.message}`;
  return `error: ${String(error)}`;
}
