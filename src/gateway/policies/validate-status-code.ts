import { discard } from '../respond.js';
import { z } from 'zod';
import { definePolicy } from '../policy.js';
import { escapePointer, getPointer, resolveRef } from '../openapi/compile.js';
import { actionField, errorsFields, operationsInScope, Reporter, type Action, type Violation } from '../openapi/report.js';

const Config = z.strictObject({
  'unspecified-status-code-action': actionField('when the backend answers with a status code the operation does not declare (`default` declares them all)', 'prevent'),
  'status-codes': z.array(z.strictObject({
    code: z.number().int().min(100).max(599).describe('HTTP status code.'),
    action: z.enum(['ignore', 'detect', 'prevent']).describe('Action for this status code when the operation does not declare it.'),
  })).default([]).describe('Per-status-code actions, overriding `unspecified-status-code-action`.'),
  ...errorsFields,
});

export const validateStatusCode = definePolicy({
  name: 'validate-status-code',
  sections: ['outbound'],
  capabilities: { phase: 'pipeline', requires: ['operation', 'openapi'] },
  description:
    'Checks that the backend answers with a status code the operation declares in the OpenAPI document (exact, `4XX`-style ranges, or ' +
    '`default`). `prevent` replaces the response with a 502 that does not carry the backend\'s body.',
  example: `validate-status-code:
  unspecified-status-code-action: prevent
  status-codes:
    - { code: 500, action: detect }`,
  schema: Config,
  create(config, ctx) {
    const { source, ids } = operationsInScope(ctx, 'validate-status-code');
    const reporter = new Reporter(ctx, 'validate-status-code', config['errors-variable-name'], config['errors-detail']);
    const byCode = new Map<number, Action>(config['status-codes'].map((s) => [s.code, s.action]));
    // per operation: a 600-slot table of "declared"
    const ops = new Map<string, Uint8Array>();
    for (const id of ids) {
      const op = source.operations.get(id)!;
      const itemPtr = `/paths/${escapePointer(op.template)}`;
      const item = resolveRef(source.bundled, getPointer(source.bundled, itemPtr), itemPtr);
      const responses = getPointer(source.bundled, `${item.pointer}/${op.method.toLowerCase()}/responses`) as Record<string, unknown> | undefined;
      const declared = new Uint8Array(600);
      for (const key of Object.keys(responses ?? {})) {
        const k = key.toUpperCase();
        if (k === 'DEFAULT') declared.fill(1);
        else if (/^[1-5]XX$/.test(k)) declared.fill(1, Number(k[0]) * 100, Number(k[0]) * 100 + 100);
        else if (/^[1-5]\d\d$/.test(k)) declared[Number(k)] = 1;
      }
      ops.set(id, declared);
    }
    const fallback = config['unspecified-status-code-action'];
    return (ex) => {
      const res = ex.response;
      const declared = ex.operation === undefined ? undefined : ops.get(ex.operation.id);
      if (res === undefined || declared === undefined) return undefined;
      if (declared[res.status] === 1) return undefined;
      const v: Violation[] = [{ in: 'status', name: String(res.status), path: '', rule: 'unspecified', message: `status ${res.status} is not declared by the operation`, action: byCode.get(res.status) ?? fallback }];
      if (!reporter.record(ex, v)) return undefined;
      const body = res.body;
      discard(body);
      return reporter.outbound(ex, v);
    };
  },
});
