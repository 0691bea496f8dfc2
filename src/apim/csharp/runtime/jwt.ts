import { CsDateTime, Kind } from './datetime.js';

/**
 * `AsJwt()`: reads a JWT without validating it (validate-jwt validates), as the service does.
 * `AsBasic()`: reads an `Authorization: Basic` value. Both give null for malformed input.
 */
export class ClaimMap {
  constructor(private readonly m: Map<string, string[]>) {}
  get(k: string): string[] | undefined { return this.m.get(k); }
  has(k: string): boolean { return this.m.has(k); }
  keys(): Iterable<string> { return this.m.keys(); }
  get size(): number { return this.m.size; }
}

export class JwtValue {
  readonly csType = 'Jwt';
  constructor(readonly header: Record<string, unknown>, readonly payload: Record<string, unknown>) {}
  csString(): string { return this.csType; }
  private str(k: string): string | null { const v = this.payload[k]; return typeof v === 'string' ? v : v === undefined || v === null ? null : String(v); }
  private time(k: string): CsDateTime | null { const v = this.payload[k]; return typeof v === 'number' && Number.isFinite(v) ? new CsDateTime(v * 1000, Kind.Utc) : null; }
  get Id(): string | null { return this.str('jti'); }
  get Issuer(): string | null { return this.str('iss'); }
  get Subject(): string | null { return this.str('sub'); }
  get Algorithm(): string | null { const a = this.header.alg; return typeof a === 'string' ? a : null; }
  get Type(): string | null { const t = this.header.typ; return typeof t === 'string' ? t : null; }
  get Audiences(): string[] { const a = this.payload.aud; return Array.isArray(a) ? a.map(String) : typeof a === 'string' ? [a] : []; }
  get ExpirationTime(): CsDateTime | null { return this.time('exp'); }
  get NotBefore(): CsDateTime | null { return this.time('nbf'); }
  get IssuedAt(): CsDateTime | null { return this.time('iat'); }
  get Claims(): ClaimMap { return claimMap(this.payload); }
  get Header(): ClaimMap { return claimMap(this.header); }
}

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
function claimMap(o: Record<string, unknown>): ClaimMap {
  return new ClaimMap(new Map(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v.map(text) : [text(v)]])));
}

function b64json(part: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function parseJwt(s: string | null): JwtValue | null {
  if (!s || s.length > 65536) return null;
  const token = s.replace(/^\s*Bearer\s+/i, '').trim();
  const parts = token.split('.');
  if (parts.length !== 3 && parts.length !== 5) return null;
  const header = b64json(parts[0]!), payload = parts.length === 3 ? b64json(parts[1]!) : undefined;
  return header && payload ? new JwtValue(header, payload) : null;
}

export class BasicCredentials {
  readonly csType = 'BasicAuthCredentials';
  constructor(readonly UserId: string, readonly Password: string) {}
  csString(): string { return this.csType; }
}

export function parseBasic(s: string | null): BasicCredentials | null {
  if (!s) return null;
  const m = /^\s*Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(s);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? null : new BasicCredentials(decoded.slice(0, i), decoded.slice(i + 1));
}
