/**
 * A throw-away PKI for the TLS tests, made with the openssl command line in a temp folder:
 * a root CA, an intermediate CA, another (untrusted) CA, server certificates for two domains and
 * a wildcard, and client certificates that are valid, expired, not yet valid, revoked (with a CRL),
 * issued by the other CA, and with the wrong SAN. Plus small HTTPS / HTTP/2 clients.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, createPrivateKey, X509Certificate, randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';

export interface Issued {
  name: string;
  /** file of the leaf certificate alone */
  cert: string;
  /** file of the leaf followed by its intermediates (what a server or client presents) */
  chain: string;
  key: string;
  pem: string;
  keyPem: string;
  chainPem: string;
  x509: X509Certificate;
  /** upper-case hex, no colons */
  sha1: string;
  sha256: string;
  serial: string;
}

export interface IssueOptions {
  name: string;
  /** `/CN=x/O=y` */
  subject: string;
  /** CA that signs; omitted = self-signed root */
  issuer?: Issued;
  ca?: boolean;
  dns?: string[];
  ips?: string[];
  uris?: string[];
  usage?: 'server' | 'client' | 'both';
  /** validity window (default: from yesterday to +30 days) */
  notBefore?: Date;
  notAfter?: Date;
  /** encrypt the key with this passphrase */
  passphrase?: string;
}

export interface Pki {
  dir: string;
  root: Issued;
  intermediate: Issued;
  otherCa: Issued;
  /** a.test and api.a.test (the default certificate in the tests) */
  serverA: Issued;
  serverB: Issued;
  /** *.wild.test */
  wildcard: Issued;
  clientValid: Issued;
  clientExpired: Issued;
  clientNotYetValid: Issued;
  clientRevoked: Issued;
  clientOtherCa: Issued;
  clientWrongSan: Issued;
  /** CRL of the intermediate listing clientRevoked */
  crl: string;
  /** root certificate file: what clients trust and what the listener's client-ca names */
  rootFile: string;
  issue(o: IssueOptions): Issued;
  /** (re)write the CRL of `ca` listing `revoked`; returns its path */
  writeCrl(ca: Issued, revoked: Issued[], file?: string): string;
}

const DAY = 86400_000;

function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** `openssl ca` date: YYYYMMDDHHMMSSZ */
function caDate(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

function caDir(dir: string, name: string): string {
  const d = join(dir, `ca-${name}`);
  mkdirSync(join(d, 'newcerts'), { recursive: true });
  writeFileSync(join(d, 'index.txt'), '');
  writeFileSync(join(d, 'index.txt.attr'), 'unique_subject = no\n');
  writeFileSync(join(d, 'crlnumber'), '01\n');
  writeFileSync(join(d, 'ca.cnf'), `[ ca ]
default_ca = CA_default
[ CA_default ]
dir = ${d}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
preserve = yes
email_in_dn = no
default_crl_days = 7
[ policy_any ]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = optional
[ crl_ext ]
authorityKeyIdentifier = keyid:always
`);
  return d;
}

export function createPki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pki-'));
  const caDirs = new Map<string, string>();

  const issue = (o: IssueOptions): Issued => {
    const base = join(dir, o.name);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const plainKey = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    writeFileSync(`${base}.plain.key`, plainKey);
    const keyPem = o.passphrase
      ? (createPrivateKey(plainKey).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: o.passphrase }) as string)
      : plainKey;
    writeFileSync(`${base}.key`, keyPem);
    const ext: string[] = [];
    if (o.ca) {
      ext.push('basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign, digitalSignature');
    } else {
      ext.push('basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature, keyEncipherment');
      const u = o.usage ?? 'server';
      ext.push(`extendedKeyUsage = ${u === 'server' ? 'serverAuth' : u === 'client' ? 'clientAuth' : 'serverAuth, clientAuth'}`);
    }
    ext.push('subjectKeyIdentifier = hash');
    if (o.issuer) ext.push('authorityKeyIdentifier = keyid:always');
    const san = [...(o.dns ?? []).map((d) => `DNS:${d}`), ...(o.ips ?? []).map((i) => `IP:${i}`), ...(o.uris ?? []).map((u) => `URI:${u}`)];
    if (san.length) ext.push(`subjectAltName = ${san.join(', ')}`);
    writeFileSync(`${base}.ext`, `[ ext ]\n${ext.join('\n')}\n`);
    const notBefore = o.notBefore ?? new Date(Date.now() - DAY);
    const notAfter = o.notAfter ?? new Date(Date.now() + 30 * DAY);
    const serial = randomBytes(8).toString('hex').replace(/^0/, '1');
    if (!o.issuer) {
      // self-signed: sign the CSR with its own key through `openssl ca -selfsign`
      const d = caDir(dir, o.name);
      writeFileSync(join(d, 'serial'), serial + '\n');
      openssl(['req', '-new', '-key', `${base}.plain.key`, '-subj', o.subject, '-out', `${base}.csr`], dir);
      openssl(['ca', '-batch', '-config', join(d, 'ca.cnf'), '-selfsign', '-keyfile', `${base}.plain.key`, '-in', `${base}.csr`, '-out', `${base}.pem`,
        '-startdate', caDate(notBefore), '-enddate', caDate(notAfter), '-extfile', `${base}.ext`, '-extensions', 'ext', '-notext'], dir);
      caDirs.set(o.name, d);
    } else {
      const d = caDirs.get(o.issuer.name);
      if (!d) throw new Error(`${o.issuer.name} is not a CA of this PKI`);
      writeFileSync(join(d, 'serial'), serial + '\n');
      openssl(['req', '-new', '-key', `${base}.plain.key`, '-subj', o.subject, '-out', `${base}.csr`], dir);
      openssl(['ca', '-batch', '-config', join(d, 'ca.cnf'), '-cert', o.issuer.cert, '-keyfile', join(dir, `${o.issuer.name}.plain.key`),
        '-in', `${base}.csr`, '-out', `${base}.pem`, '-startdate', caDate(notBefore), '-enddate', caDate(notAfter),
        '-extfile', `${base}.ext`, '-extensions', 'ext', '-notext'], dir);
      if (o.ca) caDirs.set(o.name, caDir(dir, o.name));
    }
    const pem = readFileSync(`${base}.pem`, 'utf8');
    // the chain: leaf + every intermediate up to (not including) the root
    let chainPem = pem;
    for (let i = o.issuer; i && i.x509.issuer !== i.x509.subject; ) {
      chainPem += i.pem;
      i = issuedByName.get(i.x509.issuer);
    }
    writeFileSync(`${base}.chain.pem`, chainPem);
    const x509 = new X509Certificate(pem);
    const out: Issued = {
      name: o.name, cert: `${base}.pem`, chain: `${base}.chain.pem`, key: `${base}.key`, pem, keyPem, chainPem, x509,
      sha1: x509.fingerprint.replace(/:/g, ''), sha256: x509.fingerprint256.replace(/:/g, ''), serial: x509.serialNumber,
    };
    if (o.ca) issuedByName.set(x509.subject, out);
    return out;
  };
  const issuedByName = new Map<string, Issued>();

  const writeCrl = (ca: Issued, revoked: Issued[], file = join(dir, `${ca.name}.crl.pem`)): string => {
    const d = caDirs.get(ca.name)!;
    // a fresh database so the CRL lists exactly `revoked`
    const index = readFileSync(join(d, 'index.txt'), 'utf8').split('\n').filter(Boolean)
      .map((l) => l.replace(/^R\t([^\t]*)\t[^\t]*\t/, 'V\t$1\t\t'));
    writeFileSync(join(d, 'index.txt'), index.length ? index.join('\n') + '\n' : '');
    for (const r of revoked) {
      openssl(['ca', '-batch', '-config', join(d, 'ca.cnf'), '-cert', ca.cert, '-keyfile', join(dir, `${ca.name}.plain.key`), '-revoke', r.cert], dir);
    }
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    openssl(['ca', '-batch', '-config', join(d, 'ca.cnf'), '-cert', ca.cert, '-keyfile', join(dir, `${ca.name}.plain.key`),
      '-gencrl', '-crlexts', 'crl_ext', '-out', tmp], dir);
    writeFileSync(file, readFileSync(tmp));
    return file;
  };

  const root = issue({ name: 'root', subject: '/O=Gatehouse Test/CN=Test Root CA', ca: true, notAfter: new Date(Date.now() + 365 * DAY) });
  const intermediate = issue({ name: 'intermediate', subject: '/O=Gatehouse Test/CN=Test Intermediate CA', ca: true, issuer: root, notAfter: new Date(Date.now() + 365 * DAY) });
  const otherCa = issue({ name: 'other-ca', subject: '/O=Somebody Else/CN=Other CA', ca: true, notAfter: new Date(Date.now() + 365 * DAY) });
  const client = (name: string, o: Partial<IssueOptions> = {}) =>
    issue({ name, subject: `/O=Gatehouse Test/OU=Clients/CN=${name}`, issuer: intermediate, usage: 'client', dns: [`${name}.clients.test`], uris: [`spiffe://test/${name}`], ...o });
  const pki: Pki = {
    dir, root, intermediate, otherCa,
    serverA: issue({ name: 'server-a', subject: '/O=Gatehouse Test/CN=a.test', issuer: intermediate, dns: ['a.test', 'api.a.test'], ips: ['127.0.0.1'] }),
    serverB: issue({ name: 'server-b', subject: '/O=Gatehouse Test/CN=b.test', issuer: intermediate, dns: ['b.test'] }),
    wildcard: issue({ name: 'wildcard', subject: '/O=Gatehouse Test/CN=*.wild.test', issuer: intermediate, dns: ['*.wild.test'] }),
    clientValid: client('client-valid'),
    clientExpired: client('client-expired', { notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) }),
    clientNotYetValid: client('client-future', { notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 30 * DAY) }),
    clientRevoked: client('client-revoked'),
    clientOtherCa: issue({ name: 'client-other', subject: '/O=Somebody Else/CN=client-other', issuer: otherCa, usage: 'client', dns: ['client-valid.clients.test'] }),
    clientWrongSan: client('client-wrong-san', { dns: ['somebody-else.test'] }),
    crl: '',
    rootFile: root.cert,
    issue,
    writeCrl,
  };
  pki.crl = writeCrl(intermediate, [pki.clientRevoked]);
  return pki;
}

// ---------------------------------------------------------------------------------------------
// clients

export interface TlsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** the certificate the server presented */
  peer: X509Certificate | undefined;
  alpn: string | false | null | undefined;
}

/** One HTTPS/1.1 request on a fresh connection (node:https, no agent). */
export function httpsGet(url: string, o: RequestOptions & Pick<ConnectionOptions, 'ALPNProtocols'> & { body?: string } = {}): Promise<TlsResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { agent: false, ...o }, (res) => {
      const chunks: Buffer[] = [];
      const sock = res.socket as import('node:tls').TLSSocket;
      const raw = sock.getPeerCertificate?.()?.raw;
      const alpn = sock.alpnProtocol;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString(), peer: raw ? new X509Certificate(raw) : undefined, alpn }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** A request on an HTTP/2 session. */
export function h2Request(session: ClientHttp2Session, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':path': path, ...headers });
    const chunks: Buffer[] = [];
    let head: Record<string, unknown> = {};
    s.on('response', (h) => { head = h; });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks).toString() }));
    s.on('error', reject);
    s.end();
  });
}

/** Open an HTTP/2 session and wait until it is connected. */
export function h2Connect(url: string, o: Parameters<typeof h2connect>[1] = {}): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = h2connect(url, o);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}
