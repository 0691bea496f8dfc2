import { fail } from './exceptions.js';

const collator = new Intl.Collator('en', { sensitivity: 'variant' });

/** `Comparer<T>.Default`: null first, numbers by value, strings culture-aware, library values by `csCompare`. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return Math.sign(collator.compare(a, b));
  if (typeof a === 'boolean' && typeof b === 'boolean') return a ? 1 : -1;
  if (typeof a === 'object' && typeof (a as { csCompare?: unknown }).csCompare === 'function') return (a as { csCompare(o: unknown): number }).csCompare(b);
  return fail('InvalidOperationException', 'Failed to compare two elements in the array.');
}
