import { BYTE, OBJECT, STRING } from '../builtins.js';
import { castFn } from '../conversions.js';
import { unsupported } from '../diagnostics.js';
import { OUT } from '../frame.js';
import type { ApimBody, ApimMap } from '../model.js';
import { charge } from '../runtime/budget.js';
import { fail, keyNotFound } from '../runtime/exceptions.js';
import { parseJson } from '../runtime/json-parse.js';
import { BasicCredentials, JwtValue, parseBasic, parseJwt } from '../runtime/jwt.js';
import { KeyValuePair } from '../runtime/values.js';
import { extensionHost } from '../signatures.js';
import { addMembers, defineType, named, typeName, type MemberSpec, type Type, type TypeDef } from '../types.js';
import { DictionaryValue, KVP } from './collections.js';
import { JARRAY, JOBJECT, JTOKEN } from './json.js';
import { URI, CsUri } from './web.js';

/**
 * The `context` object model: its types, resolved at load like any library type. The run-time
 * values are the gateway's implementations of the interfaces in model.ts.
 */
const def = (name: string, is: TypeDef['is'], extra: Partial<TypeDef> = {}) => defineType({ name, ns: '', is, ...extra });
const isObj = (v: unknown) => typeof v === 'object' && v !== null;
/** Hot members get their own getter (a property load V8 can specialise); the rest share one. */
type O = Record<string, unknown>;
const HOT: Record<string, (o: O) => unknown> = {
  Request: (o) => o.Request ?? null, Response: (o) => o.Response ?? null, Headers: (o) => o.Headers ?? null, Url: (o) => o.Url ?? null,
  Method: (o) => o.Method ?? null, Query: (o) => o.Query ?? null, Path: (o) => o.Path ?? null, Body: (o) => o.Body ?? null,
  IpAddress: (o) => o.IpAddress ?? null, Subscription: (o) => o.Subscription ?? null, StatusCode: (o) => o.StatusCode ?? null,
  MatchedParameters: (o) => o.MatchedParameters ?? null, Api: (o) => o.Api ?? null, Product: (o) => o.Product ?? null,
};
const getters = (list: string[]): MemberSpec[] => list.map((sig) => {
  const name = sig.slice(0, sig.indexOf(':'));
  return [sig, HOT[name] ?? ((o: O) => o[name] ?? null)] as const;
});
const kvps = (m: ApimMap<unknown>) => [...m.keys()].map((k) => new KeyValuePair(k, m.get(k)));
const mapSpecs = (v: string): MemberSpec[] => [
  ['ContainsKey(string): bool', (m: ApimMap<unknown>, k: string) => m.has(k)],
  ['Count: int', (m: ApimMap<unknown>) => m.size],
  ['Keys: IEnumerable<string>', (m: ApimMap<unknown>) => [...m.keys()]],
  [`TryGetValue(string, out ${v}): bool`, (m: ApimMap<unknown>, k: string) => { const x = m.get(k); OUT[0] = x ?? null; return x !== undefined; }],
];

export const VARIABLES = def('ContextVariables', isObj, { elementOf: () => named(KVP, [named(STRING), named(OBJECT)]), iterate: kvps });
addMembers(VARIABLES, [
  ...mapSpecs('object'),
  ['this[string]: object', (m: ApimMap<unknown>, k: string) => { const v = m.get(k); return v === undefined ? keyNotFound(k) : v; }],
  ['GetValueOrDefault(string): object', (m: ApimMap<unknown>, k: string) => m.get(k) ?? null],
  ['GetValueOrDefault<T>(string): T', { bind: ([t]: Type[]) => { const c = castFn(t!), z = zero(t!); return (m: ApimMap<unknown>, k: string) => { const v = m.get(k); return v === undefined ? z : c(v); }; } }],
  ['GetValueOrDefault<T>(string, T): T', { bind: ([t]: Type[]) => { const c = castFn(t!); return (m: ApimMap<unknown>, k: string, d: unknown) => { const v = m.get(k); return v === undefined ? d : c(v); }; } }],
]);

/** Headers, query parameters and claims: several values per name; GetValueOrDefault joins them with ','. */
export const MULTI_MAP = def('HeaderDictionary', isObj, { elementOf: () => named(KVP, [named(STRING), { k: 'array', elem: named(STRING) }]), iterate: kvps });
const joined = (m: ApimMap<readonly string[]>, k: string, d: string | null) => { const v = m.get(k); return v === undefined ? d : v.join(','); };
addMembers(MULTI_MAP, [
  ...mapSpecs('string[]'),
  ['this[string]: string[]', (m: ApimMap<readonly string[]>, k: string) => { const v = m.get(k); return v === undefined ? keyNotFound(k) : [...v]; }],
  ['GetValueOrDefault(string): string', (m: ApimMap<readonly string[]>, k: string) => joined(m, k, null)],
  ['GetValueOrDefault(string, string): string', joined],
]);

export const READONLY_MAP = defineType({ name: 'ReadOnlyMap', ns: '', params: ['V'], is: isObj, elementOf: () => named(KVP, [named(STRING), { k: 'param', name: 'V' }]), iterate: kvps });
addMembers(READONLY_MAP, [
  ...mapSpecs('V'),
  ['this[string]: V', (m: ApimMap<unknown>, k: string) => { const v = m.get(k); return v === undefined ? keyNotFound(k) : v; }],
  ['GetValueOrDefault(string): V', (m: ApimMap<unknown>, k: string) => m.get(k) ?? null],
  ['GetValueOrDefault(string, V): V', (m: ApimMap<unknown>, k: string, d: unknown) => m.get(k) ?? d],
]);

function zero(t: Type): unknown {
  return t.k === 'named' && t.def.valueType ? t.def.zero ?? 0 : null;
}

/** `Body.As<T>(preserveContent)`: string, byte[], JObject, JArray or JToken. */
function bodyAs(t: Type) {
  const d = t.k === 'named' ? t.def : undefined;
  const text = (b: ApimBody, keep: boolean) => Buffer.from(b.read(keep)).toString('utf8');
  if (d === STRING) return (b: ApimBody, keep: boolean) => text(b, keep);
  if (t.k === 'array' && t.elem.k === 'named' && t.elem.def === BYTE) return (b: ApimBody, keep: boolean) => b.read(keep);
  if (d === JOBJECT || d === JARRAY || d === JTOKEN) {
    const cast = castFn(t);
    return (b: ApimBody, keep: boolean) => {
      const s = text(b, keep);
      if (s.trim() === '') return null;
      return cast(parseJson(s));
    };
  }
  throw unsupported(`Body.As<${typeName(t)}>() is not supported: use string, byte[], JObject, JArray or JToken`, -1);
}
function formContent(b: ApimBody, keep: boolean): DictionaryValue {
  const d = new DictionaryValue();
  const text = Buffer.from(b.read(keep)).toString('utf8');
  charge(text.length);
  for (const [k, v] of new URLSearchParams(text)) {
    const cur = d.tryGet(k);
    if (cur) (cur[1] as string[]).push(v); else d.add(k, [v]);
  }
  return d;
}

export const BODY = def('IMessageBody', isObj);
addMembers(BODY, [
  ['As<T>(bool preserveContent = false): T', { bind: ([t]: Type[]) => bodyAs(t!) }],
  ['AsFormUrlEncodedContent(bool preserveContent = false): Dictionary<string, List<string>>', formContent],
]);

const URL_DEF = def('IUrl', isObj);
addMembers(URL_DEF, [
  ...getters(['Scheme: string', 'Host: string', 'Port: int', 'Path: string', 'QueryString: string']),
  ['Query: HeaderDictionary', (u: { Query: unknown }) => u.Query],
  ['ToString(): string', (u: object) => String(u)],
  ['ToUri(): Uri', (u: object) => CsUri.create(String(u))],
]);
void URI;

const CERT = def('X509Certificate2', isObj);
addMembers(CERT, [
  ...getters(['Subject: string', 'Issuer: string', 'Thumbprint: string', 'SerialNumber: string', 'NotBefore: DateTime', 'NotAfter: DateTime']),
  ['Verify(): bool', (c: { Verify(): boolean }) => c.Verify()],
]);

const RESPONSE_IS = (v: unknown) => isObj(v) && 'StatusCode' in (v as object) && 'Headers' in (v as object);
const RESPONSE = def('IResponse', RESPONSE_IS);
addMembers(RESPONSE, [
  ...getters(['StatusCode: int', 'StatusReason: string', 'Headers: HeaderDictionary', 'Body: IMessageBody']),
]);

const REQUEST = def('IRequest', isObj);
addMembers(REQUEST, getters(['Method: string', 'Url: IUrl', 'OriginalUrl: IUrl', 'Headers: HeaderDictionary', 'IpAddress: string',
  'MatchedParameters: ReadOnlyMap<string>', 'Body: IMessageBody', 'Certificate: X509Certificate2']));

const KEY_NAMES = def('ISubscriptionKeyParameterNames', isObj);
addMembers(KEY_NAMES, getters(['Header: string', 'Query: string']));
const API = def('IApi', isObj);
addMembers(API, getters(['Id: string', 'Name: string', 'Path: string', 'Protocols: IEnumerable<string>', 'ServiceUrl: IUrl',
  'SubscriptionKeyParameterNames: ISubscriptionKeyParameterNames', 'Version: string', 'Revision: string', 'IsCurrentRevision: bool']));
const OPERATION = def('IOperation', isObj);
addMembers(OPERATION, getters(['Id: string', 'Method: string', 'Name: string', 'UrlTemplate: string']));
const GROUP = def('IGroup', isObj);
addMembers(GROUP, getters(['Id: string', 'Name: string']));
const PRODUCT_STATE = defineType({ name: 'ProductState', ns: '', valueType: true, is: (v) => typeof v === 'number', enumValues: { NotPublished: 0, Published: 1 } });
void PRODUCT_STATE;
const PRODUCT = def('IProduct', isObj);
addMembers(PRODUCT, getters(['Apis: IEnumerable<IApi>', 'ApprovalRequired: bool', 'Groups: IEnumerable<IGroup>', 'Id: string', 'Name: string',
  'State: ProductState', 'SubscriptionLimit: int?', 'SubscriptionRequired: bool']));
const SUBSCRIPTION = def('ISubscription', isObj);
addMembers(SUBSCRIPTION, getters(['CreatedDate: DateTime', 'EndDate: DateTime?', 'Id: string', 'Key: string', 'Name: string', 'PrimaryKey: string',
  'SecondaryKey: string', 'StartDate: DateTime?']));
const IDENTITY = def('IUserIdentity', isObj);
addMembers(IDENTITY, getters(['Id: string', 'Provider: string']));
const USER = def('IUser', isObj);
addMembers(USER, getters(['Email: string', 'FirstName: string', 'Groups: IEnumerable<IGroup>', 'Id: string', 'Identities: IEnumerable<IUserIdentity>',
  'LastName: string', 'Note: string', 'RegistrationDate: DateTime']));
const DEPLOYMENT = def('IDeployment', isObj);
addMembers(DEPLOYMENT, getters(['GatewayId: string', 'Region: string', 'ServiceId: string', 'ServiceName: string', 'Certificates: ReadOnlyMap<X509Certificate2>']));
const LAST_ERROR = def('ILastError', isObj);
addMembers(LAST_ERROR, getters(['Source: string', 'Reason: string', 'Message: string', 'Scope: string', 'Section: string', 'Path: string', 'PolicyId: string']));

const CONTEXT = def('IProxyRequestContext', isObj);
addMembers(CONTEXT, [
  ...getters(['Api: IApi', 'Deployment: IDeployment', 'Elapsed: TimeSpan', 'LastError: ILastError', 'Operation: IOperation', 'Product: IProduct',
    'Request: IRequest', 'RequestId: Guid', 'Response: IResponse', 'Subscription: ISubscription', 'Timestamp: DateTime', 'Tracing: bool', 'User: IUser']),
  ['Variables: ContextVariables', (c: { Variables: unknown }) => c.Variables ?? null],
  ['Trace(string): void', (c: { Trace(m: string): void }, m: string) => c.Trace(m ?? '')],
]);
export const contextType = (): Type => named(CONTEXT);

const JWT = def('Jwt', (v) => v instanceof JwtValue);
addMembers(JWT, [
  ...getters(['Id: string', 'Issuer: string', 'Subject: string', 'Algorithm: string', 'Type: string', 'Audiences: IEnumerable<string>',
    'ExpirationTime: DateTime?', 'NotBefore: DateTime?', 'IssuedAt: DateTime?', 'Claims: HeaderDictionary', 'Header: HeaderDictionary']),
]);
const BASIC = def('BasicAuthCredentials', (v) => v instanceof BasicCredentials);
addMembers(BASIC, getters(['UserId: string', 'Password: string']));

const EXT = def('ApimExtensions', () => false);
extensionHost(EXT);
addMembers(EXT, [
  ['static AsJwt(this string): Jwt', parseJwt],
  ['static TryParseJwt(this string, out Jwt): bool', (s: string | null) => { OUT[0] = parseJwt(s); return OUT[0] !== null; }],
  ['static AsBasic(this string): BasicAuthCredentials', parseBasic],
  ['static TryParseBasic(this string, out BasicAuthCredentials): bool', (s: string | null) => { OUT[0] = parseBasic(s); return OUT[0] !== null; }],
]);

export { fail };
