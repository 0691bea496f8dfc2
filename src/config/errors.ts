/**
 * A problem in the configuration. `path` is relative to whatever is being compiled (a policy's
 * config, an API); the loader prefixes it and turns it into file:line:column.
 */
export class ConfigError extends Error {
  constructor(message: string, readonly path: ReadonlyArray<string | number> = []) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** One located error, ready to print. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** e.g. `apis[0].policies.inbound[1].validate-jwt.audiences` */
  path: string;
  message: string;
}

export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out;
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.path ? i.path + ': ' : ''}${i.message}`;
}

/** Thrown by the loader with every issue found. */
export class ConfigInvalid extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigInvalid';
  }
}
