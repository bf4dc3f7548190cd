#!/usr/bin/env bash
# Installs the official SAP Job Scheduling client (@sap/jobs-client, pinned in package-lock.json)
# for tests/sdk/test_sap_client.py. Idempotent: `npm ci` rebuilds node_modules from the lockfile.
# Needs Node.js 14 to 24 (the client's "engines") and npm on PATH.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "setup.sh: node is not on PATH" >&2; exit 1; }
node -e '
const major = Number(process.versions.node.split(".")[0]);
if (major < 14 || major > 24) {
    console.error("setup.sh: node " + process.version + " is outside ^14..^24 (@sap/jobs-client)");
    process.exit(1);
}'
npm ci --no-audit --no-fund
node -e 'const v = require("@sap/jobs-client/package.json").version;
console.log("@sap/jobs-client " + v + " on node " + process.version);'
