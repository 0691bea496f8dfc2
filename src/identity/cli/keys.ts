import { parseDuration } from '../../config/units.js';
import { UsageError, type CommandContext, type CommandGroup } from './kit.js';

const usage = `gatehouse keys rotate [--overlap 1h]   (signing and cookie-signing keys)
gatehouse keys rotate --cookies       (cookie-signing keys only)
gatehouse keys list [--json]`;

async function rotate(c: CommandContext): Promise<number> {
  const { values: v } = c.parse({ overlap: { type: 'string' }, cookies: { type: 'boolean' } });
  const overlap = v.overlap === undefined ? undefined : parseDuration(v.overlap as string);
  if (v.overlap !== undefined && overlap === undefined) throw new UsageError(`--overlap ${v.overlap} is not a duration (e.g. 1h, 10m, 0)`);
  if (v.cookies && v.overlap !== undefined) throw new UsageError('--overlap applies to signing keys, not with --cookies');
  const keys = (await c.open()).keys;
  if (!v.cookies) {
    const r = await keys.rotate(overlap);
    c.audit('keys.rotated', { kid: r.kid, kind: 'sig', activates_at: new Date(r.activatesAt).toISOString() });
    c.out(`new signing key ${r.kid} published now; it signs from ${new Date(r.activatesAt).toISOString()}`);
  }
  const k = await keys.rotateCookies();
  c.audit('keys.rotated', { kid: k.kid, kind: 'cookie', activates_at: new Date(k.activatesAt).toISOString() });
  c.out(`new cookie-signing key ${k.kid}; it signs from ${new Date(k.activatesAt).toISOString()} (older ones keep verifying for a session lifetime)`);
  return 0;
}

async function listKeys(c: CommandContext): Promise<number> {
  const { values: v } = c.parse({});
  const when = (t: number | null) => (t === null ? '-' : new Date(Number(t)).toISOString());
  for (const k of await (await c.open()).keys.list()) {
    c.out(v.json ? JSON.stringify(k) : `${k.kid}  ${k.alg}  ${k.state}  activates=${when(k.activates_at)}  retires=${when(k.retires_at)}  unpublished=${when(k.expires_at)}`);
  }
  return 0;
}

/** `gatehouse keys ...`: signing and cookie-signing keys */
export const keys: CommandGroup = {
  usage,
  commands: { rotate, list: listKeys },
};
