import { z } from 'zod';
import { definePolicy } from '../policy.js';
import { checkParameters, compileParameters, type Location, type OperationParameters } from '../openapi/parameters.js';
import { actionField, errorsFields, MAX_ERRORS, operationsInScope, Reporter, type Action, type Violation } from '../openapi/report.js';

const ParameterOverride = z.strictObject({
  name: z.string().min(1).describe('Parameter name as the document declares it (headers: any case).'),
  action: z.enum(['ignore', 'detect', 'prevent']).describe('Action for this parameter, overriding the location\'s `specified-parameter-action`.'),
});

const LocationConfig = z.strictObject({
  'specified-parameter-action': z.enum(['ignore', 'detect', 'prevent']).optional()
    .describe('Overrides the policy\'s `specified-parameter-action` for this location.'),
  'unspecified-parameter-action': z.enum(['ignore', 'detect', 'prevent']).optional()
    .describe('Overrides the policy\'s `unspecified-parameter-action` for this location.'),
  parameters: z.array(ParameterOverride).default([]).describe('Per-parameter actions.'),
});

const Config = z.strictObject({
  'specified-parameter-action': actionField('when a declared parameter is missing (if required), malformed or does not match its schema', 'prevent'),
  'unspecified-parameter-action': actionField('when a query parameter or header is not declared by the operation (standard HTTP headers are never "unspecified")', 'ignore'),
  headers: LocationConfig.optional().describe('Settings for header parameters.'),
  query: LocationConfig.optional().describe('Settings for query parameters.'),
  path: LocationConfig.optional().describe('Settings for path parameters.'),
  ...errorsFields,
});

/**
 * Request headers that are part of HTTP, content negotiation, caching, CORS, proxies and tracing:
 * they are never reported as unspecified parameters.
 */
const STANDARD_HEADERS = new Set([
  'host', 'connection', 'keep-alive', 'content-length', 'content-type', 'content-encoding', 'content-language', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'accept', 'accept-encoding', 'accept-language', 'accept-charset', 'user-agent', 'authorization', 'proxy-authorization', 'cookie', 'referer', 'origin', 'expect', 'date',
  'cache-control', 'pragma', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'if-range', 'range', 'dnt', 'priority',
  'access-control-request-method', 'access-control-request-headers', 'sec-fetch-site', 'sec-fetch-mode', 'sec-fetch-dest', 'sec-fetch-user',
  'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform', 'upgrade-insecure-requests',
  'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip', 'via',
  'traceparent', 'tracestate', 'baggage', 'x-request-id', 'x-correlation-id',
]);
const isStandardHeader = (h: string) => STANDARD_HEADERS.has(h);

export const validateParameters = definePolicy({
  name: 'validate-parameters',
  sections: ['inbound'],
  capabilities: { phase: 'pipeline', requires: ['operation', 'openapi'] },
  description:
    'Validates the path, query and header parameters of requests against the operation\'s OpenAPI document: required parameters, ' +
    'types, enums, patterns, limits, arrays and objects serialized with OpenAPI `style`/`explode` (form, spaceDelimited, pipeDelimited, ' +
    'deepObject, simple, label, matrix). A query parameter that is not an array and appears twice is refused. `prevent` answers 400 ' +
    'with an `errors` list.',
  example: `validate-parameters:
  specified-parameter-action: prevent
  unspecified-parameter-action: detect
  headers:
    unspecified-parameter-action: ignore
  query:
    parameters:
      - { name: debug, action: ignore }`,
  schema: Config,
  create(config, ctx) {
    const { source, ids } = operationsInScope(ctx, 'validate-parameters');
    const ops = new Map<string, OperationParameters>();
    for (const id of ids) ops.set(id, compileParameters(source, id));
    const reporter = new Reporter(ctx, 'validate-parameters', config['errors-variable-name'], config['errors-detail']);
    const locConfig: Record<Location, z.output<typeof LocationConfig> | undefined> = { header: config.headers, query: config.query, path: config.path };
    const specified: Record<Location, Action> = { header: 'prevent', query: 'prevent', path: 'prevent' };
    const unspecified: Record<Location, Action> = { header: 'ignore', query: 'ignore', path: 'ignore' };
    const overrides = new Map<string, Action>();
    for (const loc of ['header', 'query', 'path'] as const) {
      const c = locConfig[loc];
      specified[loc] = c?.['specified-parameter-action'] ?? config['specified-parameter-action'];
      unspecified[loc] = c?.['unspecified-parameter-action'] ?? config['unspecified-parameter-action'];
      for (const p of c?.parameters ?? []) overrides.set(`${loc}:${loc === 'header' ? p.name.toLowerCase() : p.name}`, p.action);
    }
    const checkUnspecified = { query: unspecified.query !== 'ignore', header: unspecified.header !== 'ignore' };
    const actionOf = (loc: Location, name: string, rule: string): Action =>
      rule === 'unspecified' ? unspecified[loc] : overrides.get(`${loc}:${loc === 'header' ? name.toLowerCase() : name}`) ?? specified[loc];

    return (ex) => {
      const op = ex.operation === undefined ? undefined : ops.get(ex.operation.id);
      if (op === undefined) return undefined;
      const errors = checkParameters(op, { params: ex.params, query: ex.query, headers: ex.req.headers }, checkUnspecified, isStandardHeader, MAX_ERRORS);
      if (errors.length === 0) return undefined;
      const violations: Violation[] = errors.map((e) => ({ ...e, action: actionOf(e.in as Location, e.name, e.rule) }));
      return reporter.record(ex, violations)
        ? reporter.inbound(violations, 'request-parameter-invalid', 'One or more request parameters do not match the API description.')
        : undefined;
    };
  },
});
