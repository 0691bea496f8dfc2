#!/usr/bin/env bash
# CI's second Node.js version: the whole test suite on Node 24 (the LTS the docs recommend), after
# `npm test` has run it on the machine's Node (20). See scripts/ci/node-major.sh.
set -euo pipefail
exec "$(dirname "$0")/node-major.sh" 24 "$@"
