import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { watchFile } from '../../net/watch-file.js';

/**
 * A file parsed into T, reloaded (debounced) when it changes. A file that cannot be read or
 * parsed on reload is refused with an error log line and the previous value stays.
 */
export class WatchedFile<T> {
  private current: T | undefined;
  private readonly watcher: { close(): void };
  private closed = false;

  /**
   * Reads and parses the file now. When that fails, the constructor throws, unless
   * `onInitialError` is given: then it is called, `value` stays undefined and the file is
   * watched all the same, so a fixed file is picked up when it changes.
   */
  constructor(
    readonly path: string,
    private readonly parse: (data: Buffer) => T,
    private readonly logger: Logger,
    private readonly what: string,
    onInitialError?: (err: Error) => void,
  ) {
    try {
      this.current = parse(readFileSync(path));
    } catch (err) {
      if (onInitialError === undefined) throw err;
      onInitialError(err as Error);
    }
    this.watcher = watchFile(this.path, () => this.reload(), { logger: this.logger, what: `${this.what} file`, debounceMs: 100 });
  }

  /** the last value that loaded; undefined only when the file never loaded */
  get value(): T | undefined {
    return this.current;
  }

  reload(): boolean {
    if (this.closed) return false;
    try {
      this.current = this.parse(readFileSync(this.path));
    } catch (err) {
      const kept = this.current === undefined ? 'it still cannot be used' : 'the previous one stays';
      this.logger.error({ file: this.path, err: (err as Error).message }, `${this.what} reload refused; ${kept}`);
      return false;
    }
    this.logger.info({ file: this.path }, `${this.what} reloaded`);
    return true;
  }

  close(): void {
    this.closed = true;
    this.watcher.close();
  }
}
