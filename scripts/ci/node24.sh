#!/usr/bin/env bash
# CI's second Node.js version: the test suite on Node 24 (the LTS the docs recommend), after
# `npm test` has run it on the machine's Node (20). See scripts/ci/node-major.sh.
#
# Left out on Node 24, each for a known fault outside Gatehouse (they run on Node 20 in `npm test`):
# - Tests that open SQLite (every test/identity file, and the end-to-end tests that start the
#   identity provider or the subscriptions database on SQLite: the browser tests, the management API): better-sqlite3 12 aborts the process (SIGABRT, "Assertion failed:
#   (env) != nullptr" in node::RemoveEnvironmentCleanupHook from Statement::~Statement) when a
#   statement is garbage-collected on Node >= 24.19. better-sqlite3 13 (Node-API) does not, but it
#   requires Node >= 22 and crashes on Node 20. docs/prerequisites.md says what this means for users.
# - The mTLS issuer-thumbprint test of an intermediate CA: on Node 24.21 the server side of
#   getPeerCertificate(true) no longer returns the chain the client presented, so the signer is not
#   found and the identity does not match (the request is refused: it fails closed).
set -euo pipefail
exec "$(dirname "$0")/node-major.sh" 24 \
  --exclude=test/identity/ \
  --exclude=test/e2e/identity- \
  --exclude=test/e2e/quickstart.test \
  --exclude=test/e2e/dpop.test \
  --exclude=test/e2e/federation-browser.test \
  --exclude=test/e2e/saml-browser.test \
  --exclude=test/e2e/portal-browser.test \
  --exclude=test/e2e/mfa-browser.test \
  --exclude=test/e2e/account-console-browser.test \
  --exclude=test/e2e/management-api.test \
  --exclude=test/apim/products-xml.test \
  '--test-skip-pattern=issuer-thumbprint needs the real issuer signature' \
  "$@"
