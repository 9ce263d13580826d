#!/usr/bin/env bash
# Installs (on a fresh Debian machine) and starts the services the
# integration tests need, then prints the environment the tests read:
#
#   eval "$(scripts/services.sh)"
#
# PostgreSQL 15 with PostGIS 3 (postgresql-15-postgis-3) and GDAL's ogrinfo
# (gdal-bin, an independent reader of our GeoJSON and SQLite files). Everything
# it says goes to stderr; stdout carries only the export lines.
set -euo pipefail

log() { echo "services: $*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} (Debian packages)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

PG_MAJOR=${PG_MAJOR:-15}
apt_install "postgresql-$PG_MAJOR" "postgresql-$PG_MAJOR-postgis-3" gdal-bin sqlite3

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  log "starting PostgreSQL $PG_MAJOR"
  as_root pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" main start >&2 || true
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  pg_isready -h 127.0.0.1 -p 5432 >&2 || { log "PostgreSQL did not start"; exit 1; }
fi

# Connect as postgres over TCP (trust auth on the service machines); on a
# stock Debian install TCP needs a password, so create a test role then.
PG_URL="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
if ! psql "$PG_URL" -qtAc 'select 1' >/dev/null 2>&1; then
  log "creating role countysync_test for password login"
  as_root runuser -u postgres -- psql -qc \
    "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='countysync_test') THEN CREATE ROLE countysync_test LOGIN SUPERUSER PASSWORD 'countysync_test'; END IF; END\$\$;" >&2
  PG_URL="postgres://countysync_test:countysync_test@127.0.0.1:5432/postgres?sslmode=disable"
  psql "$PG_URL" -qtAc 'select 1' >/dev/null
fi
psql "$PG_URL" -qtAc "select 1 from pg_available_extensions where name='postgis'" | grep -q 1 \
  || { log "PostGIS is not available to PostgreSQL $PG_MAJOR"; exit 1; }

log "PostgreSQL+PostGIS ready"
echo "export COUNTYSYNC_TEST_PG='$PG_URL'"
