#!/usr/bin/env bash
# SimpleSAMLphp from Debian's packages, the SAML 2.0 IdP of the federation tests (test/identity/saml.test.ts, test/e2e/saml-browser.test.ts).
# Idempotent: installs only what is missing. Apache, which the package pulls in, is not used: the
# tests serve SimpleSAMLphp with `php -S` on a loopback address, configured from a temporary folder.
set -euo pipefail
missing=()
for p in simplesamlphp php-cli php-xml php-mbstring; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
