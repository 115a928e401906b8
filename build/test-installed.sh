#!/usr/bin/env bash
# Tests a linux-x64 release as installed, with the installed executables only (no dotnet run):
#   1. the .deb: installs with apt, files and user in place, the unit's paths, the worker runs
#      with the packaged configuration as the service user; remove keeps the data, purge does not
#   2. the archive, unpacked in a scratch directory: `outbox --version`, the README's main job on
#      the embedded default (send, run --once, list; the .eml appears), the configuration examples
#   3. the same executable against a throwaway PostgreSQL: init, check db, send, run --once, and
#      the worker with its health and metrics endpoints
# Needs root (apt, runuser) and PostgreSQL's server binaries. Run after build/release.sh:
#   build/test-installed.sh [ARTIFACTS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
artifacts=$(realpath "${1:-artifacts}")
version=$(dotnet msbuild src/Outbox/Outbox.csproj -getProperty:Version)
deb=$artifacts/outbox_${version}_amd64.deb
archive=$artifacts/outbox-$version-linux-x64.tar.gz
scratch=$(mktemp -d /tmp/outbox-installed.XXXXXX)
chmod 755 "$scratch"
pgdata=$scratch/pg
cleanup() {
  if [ -f "$pgdata/postmaster.pid" ]; then runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

fail() { echo "test-installed: FAILED: $*" >&2; exit 1; }
pass() { echo "test-installed: ok: $*" >&2; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

# An HTTP GET on loopback naming the host localhost (as the endpoints are bound); bash only.
http_get() {
  local port=$1 path=$2
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost:%s\r\n\r\n' "$path" "$port" >&3
  cat <&3
  exec 3>&-
}

# A loopback port nothing listens on (bash and coreutils only).
free_port() {
  local port
  while :; do
    port=$(shuf -i 20000-60999 -n 1)
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# 1. The Debian package.
[ -f "$deb" ] || fail "$deb is missing: run build/release.sh --rid linux-x64 first"
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -q "$@" >/dev/null; }
# The package's dependencies (ICU, OpenSSL, adduser) come from the distribution: a machine that has
# never fetched the package lists gets them first.
apt_get install "$deb" || { apt_get update && apt_get install "$deb"; }
expect_eq "$(outbox --version)" "$version" "/usr/bin/outbox --version"
expect_eq "$(readlink -f /usr/bin/outbox)" /usr/lib/outbox/outbox "/usr/bin/outbox's target"
getent passwd outbox >/dev/null || fail "no system user outbox after install"
for f in /etc/outbox/outbox.json /etc/outbox/smtp-password /lib/systemd/system/outbox.service \
         /usr/share/outbox/sql/postgresql/01_tables.sql /usr/share/outbox/sql/oracle/install.sql \
         /usr/share/doc/outbox/copyright /usr/share/doc/outbox/README.md /usr/share/doc/outbox/examples/postgresql-smtp.json; do
  [ -e "$f" ] || fail "$f is not installed"
done
grep -qx /etc/outbox/outbox.json /var/lib/dpkg/info/outbox.conffiles || fail "/etc/outbox/outbox.json is not a conffile"
expect_eq "$(stat -c %U:%G:%a /etc/outbox/outbox.json)" root:outbox:640 "/etc/outbox/outbox.json's owner and mode"
expect_eq "$(stat -c %U:%G /var/lib/outbox)" outbox:outbox "/var/lib/outbox's owner"
# The unit: systemd's own check where it can run, else that what it names exists.
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' /lib/systemd/system/outbox.service)
[ -x "$exec_start" ] || fail "the unit's ExecStart $exec_start is not an executable"
if command -v systemd-analyze >/dev/null && systemd-analyze verify /lib/systemd/system/outbox.service 2>"$scratch/verify.log"; then
  pass "systemd-analyze verify outbox.service"
else
  grep -v -e 'System has not been booted' -e 'Failed to connect' -e 'Cannot find unit' "$scratch/verify.log" >&2 || true
  echo "test-installed: systemd-analyze verify cannot run here; checked the unit's paths only" >&2
fi
# What the service runs, as the service user in its directory, with the packaged configuration:
# a mail queued with the CLI ends up as an .eml in /var/lib/outbox/pickup.
as_service() { (cd /var/lib/outbox && runuser -u outbox -- "$@"); }
as_service outbox send --config /etc/outbox/outbox.json --from app@example.com --to ops@example.com \
  --subject "from the deb" --text "installed" >/dev/null
as_service outbox run --once --config /etc/outbox/outbox.json >/dev/null
ls /var/lib/outbox/pickup/*.eml >/dev/null 2>&1 || fail "the packaged configuration wrote no .eml to /var/lib/outbox/pickup"
grep -q "from the deb" /var/lib/outbox/pickup/*.eml || fail "the .eml in /var/lib/outbox/pickup is not the mail sent"
pass ".deb installed; the worker ran as user outbox with /etc/outbox/outbox.json"
apt_get remove outbox
[ -f /var/lib/outbox/outbox.db ] && [ -f /etc/outbox/outbox.json ] && getent passwd outbox >/dev/null \
  || fail "apt-get remove deleted the data, the configuration or the user"
[ ! -e /usr/bin/outbox ] || fail "apt-get remove left /usr/bin/outbox"
apt_get purge outbox
[ ! -e /var/lib/outbox ] && [ ! -e /etc/outbox ] && ! getent passwd outbox >/dev/null \
  || fail "apt-get purge left /var/lib/outbox, /etc/outbox or the user"
pass "remove keeps data, configuration and user; purge deletes them"

# 2. The archive, as a user unpacks it.
tar -C "$scratch" -xzf "$archive"
home=$scratch/outbox-$version-linux-x64
bin=$home/outbox
for f in outbox libe_sqlite3.so README.md LICENSE CHANGELOG.md sql/postgresql/01_tables.sql \
         config/outbox.service config/install-windows-service.ps1 config/examples/sqlite-smtps.json; do
  [ -e "$home/$f" ] || fail "the archive lacks $f"
done
expect_eq "$("$bin" --version)" "$version" "outbox --version"
job=$scratch/job
mkdir "$job"
# The README's main job ("The two commands"), with the archive's executable for dotnet run.
(cd "$job" && "$bin" send --from app@example.com --to dba@example.com --subject Hello --text "It works" >/dev/null \
  && "$bin" run --once > run.txt && "$bin" list > list.txt)
grep -q '^sent 1, ' "$job/run.txt" || fail "run --once printed: $(cat "$job/run.txt")"
grep -q ' sent ' "$job/list.txt" || fail "list does not show the mail sent: $(cat "$job/list.txt")"
ls "$job"/pickup/*.eml >/dev/null 2>&1 || fail "no .eml in pickup/ after run --once"
grep -q '^Subject: Hello' "$job"/pickup/*.eml || fail "the .eml is not the mail sent"
(cd "$job" && "$bin" status --json > status.json)
tr -d ' \n' < "$job/status.json" | grep -q '"counts":{[^}]*"sent":1[,}]' || fail "status --json does not count the mail sent: $(cat "$job/status.json")"
# Each example is read in full (accounts, rate limits, OAuth2: the reflection trimming could
# break). Its placeholders (secret files, a pin) are refused as values, exit 3; an unknown key
# or a crash would mean the executable lost part of the options.
for example in "$home"/config/examples/*.json; do
  code=0
  "$bin" config --config "$example" --json >/dev/null 2>"$scratch/config.err" || code=$?
  if { [ $code != 0 ] && [ $code != 3 ]; } || grep -q -e 'there is no such key' -e 'Unhandled exception' "$scratch/config.err"; then
    fail "outbox config --config $(basename "$example") exited $code: $(cat "$scratch/config.err")"
  fi
done
pass "archive: --version, the README's main job, status --json, every configuration example"

# 3. PostgreSQL: a throwaway cluster, run as postgres (it refuses root), on a free port.
pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
port=$(free_port)
install -d -o postgres -m 700 "$pgdata"
runuser -u postgres -- "$pgbin/initdb" -D "$pgdata" -U postgres -A trust --no-sync >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdata" -w -l "$pgdata/log" \
  -o "-p $port -k $pgdata -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
runuser -u postgres -- "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "create database outbox" >/dev/null
export Outbox__Database__Provider=postgresql
export Outbox__Database__ConnectionString="Host=127.0.0.1;Port=$port;Database=outbox;Username=postgres"
(cd "$job" && "$bin" init >/dev/null) || fail "outbox init on PostgreSQL"
(cd "$job" && "$bin" check db > check.txt) || fail "outbox check db: $(cat "$job/check.txt")"
(cd "$job" && "$bin" send --from app@example.com --to dba@example.com --subject "Hello PG" --text "It works" >/dev/null \
  && "$bin" run --once > run-pg.txt) || fail "send + run --once on PostgreSQL"
grep -q '^sent 1, ' "$job/run-pg.txt" || fail "run --once on PostgreSQL printed: $(cat "$job/run-pg.txt")"
# The worker proper (Quartz, the hosting, the health and metrics endpoints), stopped as systemd would.
health=$(free_port) metrics=$(free_port)
(cd "$job" && exec env Outbox__Monitoring__HealthUrl="http://localhost:$health/" Outbox__Monitoring__PrometheusUrl="http://localhost:$metrics/" \
  Outbox__Dispatch__PollInterval=1s "$bin" run > worker.log 2>&1) &
worker=$!
healthy=0
for _ in $(seq 1 60); do
  if http_get "$health" /health 2>/dev/null | head -1 | grep -q ' 200 '; then healthy=1; break; fi
  sleep 0.5
done
[ $healthy = 1 ] || { kill "$worker" 2>/dev/null || true; fail "the worker's /health never answered 200: $(cat "$job/worker.log")"; }
http_get "$metrics" /metrics | grep -q '^outbox_queue_messages' || { kill "$worker"; fail "/metrics has no outbox_queue_messages"; }
kill -TERM "$worker"
wait "$worker" || fail "the worker exited $? on SIGTERM: $(cat "$job/worker.log")"
pass "PostgreSQL: init, check db, send + run --once, the worker's /health and /metrics, clean stop"
# The dashboard (ASP.NET Core, trimmed with the rest): the overview, the list and a mail's page.
board=$(free_port)
(cd "$job" && exec "$bin" dashboard --url "http://localhost:$board/" > dashboard.log 2>&1) &
dashboard=$!
up=0
for _ in $(seq 1 60); do
  if http_get "$board" / 2>/dev/null | head -1 | grep -q ' 200 '; then up=1; break; fi
  sleep 0.5
done
[ $up = 1 ] || { kill "$dashboard" 2>/dev/null || true; fail "the dashboard never answered 200 on /: $(cat "$job/dashboard.log")"; }
http_get "$board" /mails | grep -q 'Hello PG' || { kill "$dashboard"; fail "the dashboard's /mails does not list the mail sent"; }
http_get "$board" /mails/1 | head -1 | grep -q ' 200 ' || { kill "$dashboard"; fail "the dashboard's /mails/1 does not answer 200"; }
kill -TERM "$dashboard"
wait "$dashboard" || true
pass "the dashboard serves its overview, list and mail pages"
echo "test-installed: all passed" >&2
