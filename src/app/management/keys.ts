import { z } from 'zod';
import { ManagementProblem, readJson } from './http.js';
import { ok, type Route } from './routing.js';
import type { ManagementServices } from './services.js';

/**
 * The identity provider's signing keys: public information only (kid, algorithm, state, dates;
 * never key material), and rotation, as `gatehouse keys rotate` does it: a new signing key is
 * published now and signs after the overlap; a new cookie-signing key too. Audited.
 */

const iso = (ms: number | null) => (ms === null ? undefined : new Date(Number(ms)).toISOString());
const rotateBody = z.strictObject({ overlapSeconds: z.number().int().min(0).max(7 * 86400).optional() });

export function keyRoutes(svc: ManagementServices): Route[] {
  const list = async () => (await (await svc.keys()).list()).map((k) => JSON.parse(JSON.stringify({
    kid: k.kid, alg: k.alg,
    // `active (signing)` → active; published (not signing yet), retired (still published), expired
    state: k.state.split(' ')[0],
    created: iso(k.created_at), activatesAt: iso(k.activates_at), retiresAt: iso(k.retires_at), unpublishedAt: iso(k.expires_at),
  })) as Record<string, unknown>);

  return [
    { method: 'GET', path: '/keys', handler: async () => ok({ items: await list() }) },
    {
      method: 'POST', path: '/keys/rotate', handler: async (c) => {
        // the body is optional: no content type, no body
        const body = c.req.headers['content-type'] === undefined ? {} : await readJson(c.req);
        const parsed = rotateBody.safeParse(body);
        if (!parsed.success) {
          const i = parsed.error.issues[0]!;
          throw new ManagementProblem('management-request-invalid', `${i.path.join('.') || 'body'}: ${i.message}`);
        }
        const keys = await svc.keys();
        const before = await list();
        const r = await keys.rotate(parsed.data.overlapSeconds);
        await keys.rotateCookies();
        const after = await list();
        await svc.audit(c.actor, 'keys.rotate', { type: 'signing-key', id: r.kid }, before, after);
        return ok({ kid: r.kid, activatesAt: new Date(r.activatesAt).toISOString(), items: after });
      },
    },
  ];
}
