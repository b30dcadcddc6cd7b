#!/usr/bin/env bash
# The whole test suite, as CI runs it: go vet, then every package against
# SQLite and PostgreSQL. Installs and starts what the tests need when it is
# missing (PostgreSQL, Chromium for the browser test), using Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then as_root apt-get update -qq >&2 || true; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# --- PostgreSQL ------------------------------------------------------------
PG_URL="${ATTEST_TEST_POSTGRES:-postgres://postgres:attest@127.0.0.1:5432/postgres?sslmode=disable}"
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1; then
  log "installing PostgreSQL from Debian packages"
  apt_install postgresql
fi
if ! pg_up; then
  log "starting PostgreSQL"
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    as_root pg_createcluster "$(ls /usr/lib/postgresql | sort -V | tail -1)" main >&2
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start >&2 || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { log "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }
# A fresh Debian cluster uses password auth on TCP: give postgres a known
# password so the URL above works whatever pg_hba.conf says (trust ignores it).
if ! psql "$PG_URL" -Atqc 'select 1' >/dev/null 2>&1; then
  as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'attest'\"" >&2 || true
fi
psql "$PG_URL" -Atqc 'select 1' >/dev/null || { log "cannot log in to PostgreSQL with $PG_URL"; exit 1; }
export ATTEST_TEST_POSTGRES="$PG_URL"

# --- Chromium for the browser test ---------------------------------------
if ! command -v chromium >/dev/null 2>&1; then
  log "installing Chromium from Debian packages"
  apt_install chromium || log "Chromium could not be installed; the browser test will fail"
fi
export ATTEST_TEST_CHROMIUM="${ATTEST_TEST_CHROMIUM:-$(command -v chromium || true)}"

log "go vet"
go vet ./...
log "go test (SQLite and PostgreSQL)"
go test -count=1 -timeout 25m "$@" ./...
