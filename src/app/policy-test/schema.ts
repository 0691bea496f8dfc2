import { z } from 'zod';

/**
 * The policy test file (docs/policy-tests.md): the config under test, the issuer the test key
 * stands in for, and the cases: a request (and a token made from claims), the backend's canned
 * answer, and what is expected of the response and of the request the backend got.
 */

/** A string or number is compared exactly; or a matcher object. */
const matcher = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.strictObject({
    equals: z.unknown().optional().describe('deep-equal to this value'),
    matches: z.string().optional().describe('a regular expression the (string) value matches'),
    absent: z.literal(true).optional().describe('the header or field is not there'),
    present: z.literal(true).optional().describe('the header or field is there, whatever its value'),
  }).refine((m) => Object.keys(m).length === 1, 'a matcher has exactly one of equals, matches, absent, present'),
  z.array(z.unknown()),
]);
export type Matcher = z.output<typeof matcher>;

const headerMap = z.record(z.string().min(1), z.string());

const request = z.strictObject({
  method: z.string().regex(/^[A-Z]+$/, 'an upper-case method such as GET').default('GET'),
  path: z.string().regex(/^\//, 'a path starting with /'),
  host: z.string().min(1).default('localhost').describe('the Host header'),
  headers: headerMap.default({}),
  query: z.record(z.string(), z.union([z.string(), z.number(), z.array(z.string())])).default({}),
  body: z.unknown().optional().describe('a string is sent as is; anything else as JSON (with Content-Type application/json unless given)'),
});

const token = z.strictObject({
  claims: z.record(z.string(), z.unknown()).default({}).describe('claims of the token; iss, iat and exp are filled in unless given (null leaves one out)'),
  'expires-in': z.number().int().default(300).describe('seconds until exp (negative: an expired token)'),
  header: z.string().min(1).default('authorization').describe('the request header that carries it'),
  scheme: z.string().default('Bearer').describe('the scheme before the token ("" for none)'),
});

const backend = z.strictObject({
  status: z.number().int().min(100).max(599).default(200),
  headers: headerMap.default({}),
  body: z.unknown().optional().describe('a string is sent as is; anything else as JSON'),
});

const expectBackend = z.strictObject({
  called: z.boolean().optional().describe('whether the request reached the backend (default: true when any other backend expectation is given)'),
  method: z.string().optional(),
  path: z.string().optional().describe('the path and query the backend got'),
  headers: z.record(z.string().min(1), matcher).default({}),
  body: z.record(z.string(), matcher).default({}).describe('fields of the JSON body the backend got, by JSON pointer (/a/0/b) or dotted path (a.0.b)'),
});

const testCase = z.strictObject({
  name: z.string().min(1),
  request,
  token: token.optional(),
  backend: backend.prefault({}),
  repeat: z.number().int().min(1).max(10000).default(1).describe('send the request this many times; the expectations are checked on the last'),
  expect: z.strictObject({
    status: z.number().int().min(100).max(599).optional(),
    headers: z.record(z.string().min(1), matcher).default({}),
    body: z.record(z.string(), matcher).default({}).describe('fields of the JSON response body by JSON pointer or dotted path'),
    backend: expectBackend.optional(),
  }),
});
export type TestCase = z.output<typeof testCase>;

export const testFileSchema = z.strictObject({
  config: z.string().min(1).describe('the config under test, relative to this file'),
  issuer: z.string().min(1).optional().describe('the validate-jwt issuer the test signing key stands in for (needed by cases with a token)'),
  env: z.record(z.string(), z.string()).default({}).describe('environment variables for ${ENV:NAME} in the config (over the process environment)'),
  cases: z.array(testCase).min(1),
}).superRefine((f, ctx) => {
  f.cases.forEach((c, i) => {
    if (c.token !== undefined && f.issuer === undefined) ctx.addIssue({ code: 'custom', path: ['cases', i, 'token'], message: 'a case with a token needs `issuer:` at the top of the file (the validate-jwt issuer the test key stands in for)' });
  });
});
export type TestFile = z.output<typeof testFileSchema>;
