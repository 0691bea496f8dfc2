import type { PolicyDefinition } from '../policy.js';
import { setHeader } from './set-header.js';
import { rewriteUri } from './rewrite-uri.js';
import { setBackendService } from './set-backend-service.js';
import { returnResponse } from './return-response.js';
import { mockResponse } from './mock-response.js';
import { cors } from './cors.js';
import { rateLimitByKey } from './rate-limit-by-key.js';
import { quotaByKey } from './quota-by-key.js';
import { validateJwt } from './validate-jwt.js';
import { checkClaims } from './check-claims.js';
import { ipFilter } from './ip-filter.js';
import { checkHeader } from './check-header.js';
import { validateContent } from './validate-content.js';
import { validateParameters } from './validate-parameters.js';
import { validateHeaders } from './validate-headers.js';
import { validateStatusCode } from './validate-status-code.js';
import { validateClientCertificate } from './validate-client-certificate.js';
import { cacheLookup } from './cache-lookup.js';
import { cacheStore } from './cache-store.js';

/**
 * The registry: the one place policies are listed. Config validation, the pipeline compiler and
 * the generated policy reference (docs/policies.md) all read it.
 */
export const POLICIES: readonly PolicyDefinition[] = [
  cors,
  setHeader,
  rewriteUri,
  setBackendService,
  returnResponse,
  mockResponse,
  rateLimitByKey,
  quotaByKey,
  ipFilter,
  validateJwt,
  checkClaims,
  checkHeader,
  validateContent,
  validateParameters,
  validateHeaders,
  validateStatusCode,
  validateClientCertificate,
  cacheLookup,
  cacheStore,
];

export const POLICY_BY_NAME: ReadonlyMap<string, PolicyDefinition> = new Map(POLICIES.map((p) => [p.name, p]));
