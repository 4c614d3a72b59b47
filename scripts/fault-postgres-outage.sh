#!/usr/bin/env sh
# Postgres outage, the long version of the scenario in apps/collector/test/faults.real.test.ts
# ("Postgres becomes unreachable"): a real codex app-server and the model stand-in keep serving
# turns while a TCP proxy between the collector and Postgres resets every connection for
# OUTAGE_SECONDS (default 30). The collector keeps its live state, buffers, retries with backoff and,
# once Postgres is back, ends with per-thread and per-target totals equal to what the stand-in
# served. It runs twice: with the default buffer bound, and with maxBufferedReports=3 so that the
# writer compacts (newest cumulative total per thread) and must still count every token.
#
# Usage: scripts/fault-postgres-outage.sh [OUTAGE_SECONDS]
# Needs: a Postgres the tests can use (TEST_DATABASE_URL, else 127.0.0.1:5432; else embedded PGlite).
# Prints one line per run, e.g.
#   [fault] Postgres outage: outage 30104 ms, 31 turns (62 token reports) during it, peak backlog 95 ops,
#           0 compactions, refused 14 connections, exact again 6322 ms after restore
# then vitest's summary: 2 passed means the totals were exact both times.
set -eu
seconds="${1:-30}"
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [OUTAGE_SECONDS]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/../apps/collector"
FAULT_OUTAGE_MS=$((seconds * 1000)) exec npx vitest run test/faults.real.test.ts -t "Postgres becomes unreachable"
