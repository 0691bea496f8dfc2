import { generate, generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';

/**
 * Authenticator apps: TOTP (RFC 6238) with the parameters every app understands (SHA-1, 6
 * digits, 30 s), through otplib. A code is accepted one time step either side of now (clock
 * drift), and only for a time step after the last one used (replay).
 */
const PERIOD = 30;

export const newTotpSecret = () => generateSecret({ length: 20 });

/** the time step a valid code belongs to, or undefined */
export async function checkTotp(secret: string, code: string, afterStep: number): Promise<number | undefined> {
  const token = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(token)) return undefined;
  const r = await verify({ secret, token, period: PERIOD, epochTolerance: PERIOD, afterTimeStep: afterStep > 0 ? afterStep : undefined });
  return r.valid && 'timeStep' in r ? r.timeStep : undefined;
}

/** the current code (tests and the CLI's own checks) */
export const totpNow = (secret: string, epoch?: number) => generate({ secret, period: PERIOD, ...(epoch !== undefined ? { epoch } : {}) });

/** the otpauth:// URI an app scans, and that URI as a QR code (an SVG data URL: no script, allowed by the page CSP) */
export async function enrolment(secret: string, issuer: string, account: string): Promise<{ uri: string; qr: string }> {
  const uri = generateURI({ issuer, label: account, secret, period: PERIOD });
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { uri, qr: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
}
