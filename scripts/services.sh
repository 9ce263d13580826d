#!/usr/bin/env bash
# Installs (on a fresh Debian machine) and starts the services the
# integration tests need, then prints the environment the tests read:
#
#   eval "$(scripts/services.sh)"
#
# PostgreSQL 15 with PostGIS 3 (postgresql-15-postgis-3) and GDAL's ogrinfo
# (gdal-bin, an independent reader of our GeoJSON and SQLite files), PROJ
# (libproj-dev and proj-data to build and run the reprojection, proj-bin's
# cs2cs as its test oracle), and MinIO
# (built with `go install`, cached in $COUNTYSYNC_TOOLS). Everything
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
apt_install "postgresql-$PG_MAJOR" "postgresql-$PG_MAJOR-postgis-3" gdal-bin sqlite3 protobuf-compiler curl \
  libproj-dev proj-data proj-bin

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

# Redis 7 (Debian's redis-server; redis-sentinel for the Sentinel failover test,
# which starts its own) on 127.0.0.1:6379, without persistence; a
# Redis that already answers PING there is reused. Tests pick DBs 1-15 and
# key prefixes of their own (internal/testsvc/redis.go).
apt_install redis-server redis-sentinel
redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
if ! redis_ping; then
  log "starting Redis on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >&2
  for _ in $(seq 1 40); do redis_ping && break; sleep 0.25; done
  redis_ping || { log "Redis did not start"; exit 1; }
fi
log "Redis ready"
echo "export COUNTYSYNC_TEST_REDIS=redis://127.0.0.1:6379/0"

# MinIO, built from source with `go install` into a tools folder outside the
# repository that every clone shares (about 8 minutes the first time on 2
# cores), started on 127.0.0.1 with its data under .build/minio-data. A MinIO
# that already answers on the port is reused (it must accept the same root
# credentials). COUNTYSYNC_TEST_S3 = http://USER:PASSWORD@HOST:PORT.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
TOOLS=${COUNTYSYNC_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/countysync/tools}
MINIO_PORT=${COUNTYSYNC_MINIO_PORT:-9000}
MINIO_CONSOLE_PORT=${COUNTYSYNC_MINIO_CONSOLE_PORT:-9001}
MINIO_USER=${COUNTYSYNC_MINIO_USER:-countysync}
MINIO_PASSWORD=${COUNTYSYNC_MINIO_PASSWORD:-countysync-secret}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MINIO_URL="http://127.0.0.1:$MINIO_PORT"

minio_live() { curl -sf -o /dev/null --max-time 2 "$MINIO_URL/minio/health/live"; }
# Live is not ready: a MinIO that has just started answers requests with
# "Server not initialized yet" for a while.
minio_ready() { curl -sf -o /dev/null --max-time 2 "$MINIO_URL/minio/health/ready"; }

if minio_live; then
  log "reusing the MinIO that answers on 127.0.0.1:$MINIO_PORT"
else
  if [ ! -x "$TOOLS/minio" ]; then
    command -v go >/dev/null || { log "go is needed to build MinIO"; exit 1; }
    log "building MinIO $MINIO_VERSION into $TOOLS (about 8 minutes the first time)"
    mkdir -p "$TOOLS"
    GOBIN="$TOOLS" go install "github.com/minio/minio@$MINIO_VERSION" >&2
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$MINIO_PORT") 2>/dev/null; then
    log "port $MINIO_PORT is taken by something that is not a live MinIO; set COUNTYSYNC_MINIO_PORT"
    exit 1
  fi
  mkdir -p "$REPO_ROOT/.build/minio-data"
  log "starting MinIO on 127.0.0.1:$MINIO_PORT (console :$MINIO_CONSOLE_PORT, log .build/minio.log)"
  # Detached, with no hold on our stdout, so `eval "$(...)"` returns.
  MINIO_ROOT_USER="$MINIO_USER" MINIO_ROOT_PASSWORD="$MINIO_PASSWORD" MINIO_UPDATE=off \
    nohup "$TOOLS/minio" server --quiet \
      --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" \
      "$REPO_ROOT/.build/minio-data" </dev/null >"$REPO_ROOT/.build/minio.log" 2>&1 &
  for _ in $(seq 1 120); do minio_live && break; sleep 0.5; done
  minio_live || { log "MinIO did not start; see .build/minio.log"; tail -n 20 "$REPO_ROOT/.build/minio.log" >&2; exit 1; }
fi
for _ in $(seq 1 120); do minio_ready && break; sleep 0.5; done
minio_ready || { log "MinIO is live but not ready; see .build/minio.log"; exit 1; }
# A signed ListBuckets proves the credentials (curl >= 7.75 signs SigV4).
if ! curl -sf -o /dev/null --max-time 5 --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$MINIO_USER:$MINIO_PASSWORD" "$MINIO_URL/" 2>/dev/null; then
  log "MinIO on 127.0.0.1:$MINIO_PORT rejects user $MINIO_USER; set COUNTYSYNC_MINIO_USER/COUNTYSYNC_MINIO_PASSWORD to its root credentials"
  exit 1
fi

log "MinIO ready"
echo "export COUNTYSYNC_TEST_S3='http://$MINIO_USER:$MINIO_PASSWORD@127.0.0.1:$MINIO_PORT'"

# Real county data for the geodata tests: R's sf package (Debian r-cran-sf)
# ships North Carolina's counties in NAD27 as a GeoPackage and as a plain
# SQLite table. Its .deb is downloaded and unpacked into the tools folder,
# not installed (that would pull in R); COUNTYSYNC_TEST_RSF names the folder.
RSF_DIR="$TOOLS/r-cran-sf"
if [ ! -f "$RSF_DIR/gpkg/nc.gpkg" ] || [ ! -f "$RSF_DIR/sqlite/nc.sqlite" ]; then
  log "unpacking R sf's data sets (Debian r-cran-sf) into $RSF_DIR"
  rsf_tmp=$(mktemp -d)
  if ! (cd "$rsf_tmp" && apt-get download -qq r-cran-sf >&2 2>/dev/null); then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    (cd "$rsf_tmp" && apt-get download -qq r-cran-sf >&2)
  fi
  dpkg-deb -x "$rsf_tmp"/r-cran-sf_*.deb "$rsf_tmp/x"
  mkdir -p "$RSF_DIR"
  cp -R "$rsf_tmp/x/usr/lib/R/site-library/sf/gpkg" "$rsf_tmp/x/usr/lib/R/site-library/sf/sqlite" "$RSF_DIR/"
  rm -rf "$rsf_tmp"
fi
echo "export COUNTYSYNC_TEST_RSF='$RSF_DIR'"
