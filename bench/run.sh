#!/usr/bin/env bash
# The Outbox benchmark. Sets up its own throwaway PostgreSQL cluster and Postfix's smtp-sink on
# loopback, runs every scenario of bench/Outbox.Bench several times and prints a table of medians.
#
#   bench/run.sh            # the full run (about 10 minutes on 2 cores)
#   bench/run.sh --quick    # fewer messages and runs, 100 MB instead of 500 MB (about 3 minutes)
#   bench/run.sh --only dispatch   # one scenario: dispatch, reuse, latency, claim, memory, hostile, enqueue
#   bench/run.sh --only dispatch --case "1 KB, 8 conn"   # one case of a scenario
#
# Needs root or sudo-less apt for the first run: installs Debian's postfix (for smtp-sink and
# smtp-source; the postfix daemon itself is stopped) and time (for peak memory) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/sbin:/usr/lib/postgresql/15/bin

if ! command -v smtp-sink >/dev/null; then
  echo "bench: installing postfix for smtp-sink / smtp-source" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix >/dev/null
  postfix stop >/dev/null 2>&1 || true
fi
if [ ! -x /usr/bin/time ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null
fi

work=$(mktemp -d /tmp/outbox-bench-XXXXXX)
pg_port=55499
sink_port=25259
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "${sink_pid:-}" ] && kill "$sink_pid" 2>/dev/null || true
  as_owner pg_ctl -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/pg"
[ "$(id -u)" = 0 ] && chown postgres "$work" "$work/pg"
# autovacuum off: its transactions would count against the idle worker; the claim scenario
# vacuums by hand.
as_owner initdb -D "$work/pg" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >/dev/null
as_owner pg_ctl -D "$work/pg" -w -l "$work/pg/server.log" \
  -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c shared_buffers=512MB -c max_connections=100 -c autovacuum=off" start >/dev/null

# -u: smtp-sink drops root privileges to this user; 1024: listen backlog.
sink_user=$( [ "$(id -u)" = 0 ] && echo "-u postfix" || echo "")
smtp-sink $sink_user "127.0.0.1:$sink_port" 1024 >"$work/sink.log" 2>&1 &
sink_pid=$!
sleep 0.3

dotnet run -c Release --project bench/Outbox.Bench -- \
  --postgres "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres" \
  --sink "127.0.0.1:$sink_port" --work "$work" "$@"
