#!/usr/bin/env bash
# npm test [-- <test files and/or node --test flags>]: the whole suite, or the files given, against
# a real PostgreSQL and Redis (with-services brings them up when none answer).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci
fi

# The browser tests drive Debian's chromium: CI gets it installed, anyone else gets told.
if [[ ! -x /usr/bin/chromium ]]; then
  if [[ -n "${CI:-}" && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo 'test.sh: installing chromium for the browser tests' >&2
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2
  else
    echo 'test.sh: /usr/bin/chromium is missing; the browser tests need it (Debian: apt-get install chromium)' >&2
  fi
fi

# Arguments that are not flags name the files to run; without any, every test file runs
# (Node 20 does not expand globs itself). Flags take the --flag=value form. The browser tests run
# last: where chromium is missing they are skipped, and their "# SKIP" lines are then the run's
# last lines before the summary, which counts them.
args=("$@")
files_given=false
for arg in "$@"; do
  [[ $arg == -* ]] || files_given=true
done
if [[ $files_given == false ]]; then
  mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/e2e/*' | sort; find test/e2e -name '*.test.ts' | sort)
  args+=("${files[@]}")
fi

exec node --import tsx scripts/with-services.ts -- \
  node --import tsx --test --test-concurrency=1 "${args[@]}"
