#!/usr/bin/env bash
# Runs the whole suite: unit tests beside the code (src/**/*.test.ts) and cross-module
# tests (test/**/*.test.ts), through tsx with node:test. Extra arguments are passed to
# node --test (e.g. --test-name-pattern). Set DATABASE_URL=postgres://... to run the
# database tests on PostgreSQL instead of SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "# type check (tsc --noEmit, and the dashboard's web/tsconfig.json)"
npx tsc --noEmit
npx tsc --noEmit -p web
# Build the dashboard once, before the browser and file-server tests ask for it side by side.
npx tsx scripts/build-web.ts
mapfile -t files < <(find src test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files"; exit 1; fi
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="${TEST_TIMEOUT:-300000}" "$@" "${files[@]}"
