import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const DURATION_FACTOR: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i;
const SIZE_FACTOR: Record<string, number> = { b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };

/** `30s`, `5m`, `1h`, `2d`, `250ms` or a number of seconds → seconds. */
export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  const m = DURATION.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * DURATION_FACTOR[m[2] ?? 's']!;
}

/** `10kb`, `1mb` (powers of 1024) or a number of bytes → bytes. */
export function parseSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
  const m = SIZE.exec(v.trim());
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * SIZE_FACTOR[(m[2] ?? 'b').toLowerCase()]!);
}

/** A config value with a unit, parsed by `parse`, bounded by `min`/`max` (in the output unit). */
function unitValue(parse: (v: string | number) => number | undefined, what: string, unit: string, opts: { min?: number; max?: number }) {
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = parse(v);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not ${what}` });
      return z.NEVER;
    }
    if (opts.min !== undefined && n < opts.min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${opts.min}${unit}` });
      return z.NEVER;
    }
    if (opts.max !== undefined && n > opts.max) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${opts.max}${unit}` });
      return z.NEVER;
    }
    return n;
  });
}

/** A duration in config: `30s`, `5m`, `1h` or seconds. Output: seconds. */
export function duration(opts: { min?: number; max?: number } = {}) {
  return unitValue(parseDuration, 'a duration; use e.g. 30s, 5m, 1h, or a number of seconds', 's', opts);
}

/** A size in config: `10kb`, `1mb` (1 kb = 1024 bytes) or bytes. Output: bytes. */
export function size(opts: { min?: number; max?: number } = {}) {
  return unitValue(parseSize, 'a size; use e.g. 512, 10kb, 1mb', ' bytes', opts);
}
