import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { problem, type ProblemCode } from '../../gateway/problems.js';
import { PROBLEM_CONTENT_TYPE, renderProblem } from '../../gateway/reply.js';

/** The small HTTP kit of the management API: JSON answers, problems, bounded JSON bodies. */

/** A problem the handlers throw; the router answers it. */
export class ManagementProblem extends Error {
  constructor(readonly code: ProblemCode, readonly detail: string) { super(detail); }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

export function sendProblem(res: ServerResponse, code: ProblemCode, detail: string, requestId: string = randomUUID()): void {
  const reply = problem(code, detail);
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' };
  if (code === 'management-unavailable' || code === 'portal-unavailable') headers['retry-after'] = '1';
  if (code === 'management-unauthorized') headers['www-authenticate'] = 'Bearer realm="gatehouse-management"';
  if (code === 'portal-unauthorized') headers['www-authenticate'] = 'Bearer realm="gatehouse-portal"';
  res.writeHead(reply.status, headers).end(renderProblem(reply.problem!, reply.status, requestId));
}

const MAX_BODY = 64 * 1024;
const BODY_TIMEOUT_MS = 10_000;

/** The request's JSON body: at most 64 KiB, within 10 s, `application/json`. */
export function readJson(req: IncomingMessage, invalid: ProblemCode = 'management-request-invalid'): Promise<unknown> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return Promise.reject(new ManagementProblem(invalid, 'Send the body as application/json.'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (detail: string) => { clearTimeout(timer); req.destroy(); reject(new ManagementProblem(invalid, detail)); };
    const timer = setTimeout(() => fail('The body did not arrive in time.'), BODY_TIMEOUT_MS);
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) fail(`The body is larger than ${MAX_BODY} bytes.`);
      else chunks.push(c);
    });
    req.on('error', () => fail('The body could not be read.'));
    req.on('end', () => {
      clearTimeout(timer);
      try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch { reject(new ManagementProblem(invalid, 'The body is not valid JSON.')); }
    });
  });
}

/** `limit` and the cursor of a paged list: `cursor` (or `after`, its older name), the `next` of the previous page. */
export function pageOf(q: URLSearchParams): { limit: number; after: string | undefined } {
  const raw = q.get('limit');
  const limit = raw === null ? 50 : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new ManagementProblem('management-request-invalid', 'limit is an integer from 1 to 200.');
  return { limit, after: q.get('cursor') ?? q.get('after') ?? undefined };
}
