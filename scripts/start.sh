#!/usr/bin/env bash
# npm start: the whole system with demo data, on a machine with nothing but Node.js and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci
fi

# exec and plain `node --import tsx` rather than npx: no extra process between a Ctrl-C and the
# server, so it shuts down gracefully before with-services stops the databases under it.
exec node --import tsx scripts/with-services.ts -- \
  bash -c 'node --import tsx src/db/seed-cli.ts --if-empty && exec node --import tsx src/main.ts'
