import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';

/**
 * Watch one file and call `onChange` (debounced) when it changes. A file replaced by rename —
 * atomic writes, Kubernetes secret updates — ends an inode watch, so the watch is made again on
 * the new file after every rename (retrying while the path is briefly missing).
 */
export function watchFile(path: string, onChange: () => void, opts: { logger?: Logger; what?: string; debounceMs?: number } = {}): { close(): void } {
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const start = (): void => {
    watcher?.close();
    watcher = undefined;
    if (closed) return;
    try {
      watcher = watch(path, (event) => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (event === 'rename') start();
          onChange();
        }, opts.debounceMs ?? 150);
        timer.unref();
      });
      watcher.on('error', () => {});
      watcher.unref();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // the file is being replaced: look again shortly
        timer = setTimeout(start, 500);
        timer.unref();
        return;
      }
      opts.logger?.warn({ file: path, err: (err as Error).message }, `cannot watch ${opts.what ?? 'file'}; changes need a reload`);
    }
  };
  start();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
