import type { Logger } from 'pino';
import type { AccessLog } from '../observability/access-log.js';
import type { Metrics } from '../observability/metrics.js';
import type { Runtime } from './runtime.js';
import type { ClientTrust } from './mtls/trust.js';
import type { BackendCall } from './forward.js';
import type { RecentErrors } from './recent-errors.js';

/** What every request of a gateway process shares; `runtime` is swapped whole on reload. */
export interface GatewayContext {
  runtime: Runtime;
  logger: Logger;
  accessLog: AccessLog | undefined;
  metrics: Metrics;
  /** the recent error responses, for the management API (undefined: not kept) */
  recentErrors?: RecentErrors;
  /**
   * Replaces the call to the backend (default: `forward`). Only `gatehouse test` sets it, to answer
   * with a test case's canned response; the gateway's listeners never do.
   */
  backendCall?: BackendCall;
}

/** What a request knows about the listener it arrived on. */
export interface ListenerContext {
  name: string;
  protocol: 'http' | 'https';
  /** the HTTPS listener's certificates (SNI names), for the 421 check */
  certs?: { sameCertificate(servername: string | undefined, host: string): boolean };
  /** Strict-Transport-Security value, when configured (HTTPS only) */
  hsts?: string;
  /**
   * The HTTPS listener's client trust material (client-ca and crl, loaded when the listener
   * started, watched for changes), for validate-client-certificate; undefined when the listener
   * asks for no client certificate.
   */
  clientTrust?: ClientTrust;
}
