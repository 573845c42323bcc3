#!/usr/bin/env bash
# Runs the whole vitest suite and ends with the plain closing line CI reads:
# "Tests: N passed, N failed" (plus skipped), from vitest's JSON report.
set -uo pipefail
cd "$(dirname "$0")/.."
report=dist/test-results.json
rm -f "$report"
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
if [ -f "$report" ]; then
  node -e '
    const r = require(process.argv[1]);
    console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  ' "$PWD/$report"
fi
exit $status
