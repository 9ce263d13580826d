#!/usr/bin/env bash
# End-to-end benchmark (issue 6): countysync against psql \copy and ogr2ogr on
# the same synthetic county parcels table, in the same run.
#
#   make bench                        # 200,000 parcels, 3 runs of each
#   BENCH_ROWS=1000000 make bench     # the large run
#
# Environment:
#   BENCH_ROWS=200000     parcels to seed
#   BENCH_REPEAT=3        runs of each measurement (the table shows medians)
#   BENCH_DB=countysync_bench   database to (re)create; it is dropped first
#   BENCH_SEED=1          0 reuses an existing, already seeded BENCH_DB
#   BENCH_ONLY=           space-separated work ids to run (default all), e.g.
#                         "psql_csv cs_csv"; ids are listed in WORKS below
#   BENCH_OUT=BENCHMARKS.md   file the table is written into ("" = none)
#   BENCH_PROFILE=0      1 also records a CPU profile of `countysync run` with all
#                         four formats with `perf record -g` (Debian package
#                         linux-perf) into .build/bench/perf-all.data and prints
#                         the top functions by cumulative time
#   BENCH_DISTRIBUTED=0   1 also measures `countysync worker` + `enqueue --wait`
#                         (needs COUNTYSYNC_TEST_S3, http://USER:PASSWORD@HOST:PORT
#                         as scripts/services.sh prints it or an s3:// storage
#                         URL, and COUNTYSYNC_TEST_REDIS or COUNTYSYNC_REDIS_URL;
#                         `eval "$(scripts/services.sh)"` provides both)
#   PGHOST, PGPORT, PGUSER, PGPASSWORD   the PostgreSQL+PostGIS server
#                         (default 127.0.0.1:5432, user postgres)
#
# Needs psql, ogr2ogr (gdal-bin), /usr/bin/time (Debian package "time"; the
# script installs it with apt when missing) and Go. Scratch files go under
# .build/bench. Timings are wall-clock seconds of the whole command (connect,
# query, render, checksums, rename); peak RSS is the client process's
# maximum resident set (the PostgreSQL server's memory is not included for
# any of the tools).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

ROWS=${BENCH_ROWS:-200000}
REPEAT=${BENCH_REPEAT:-3}
DB=${BENCH_DB:-countysync_bench}
SEED=${BENCH_SEED:-1}
OUT=${BENCH_OUT-BENCHMARKS.md}
ONLY=${BENCH_ONLY:-}
DISTRIBUTED=${BENCH_DISTRIBUTED:-0}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
GO=${GO:-go}
BIN=$ROOT/bin/countysync

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $ROWS =~ ^[0-9]+$ && $ROWS -gt 0 ]] || die "BENCH_ROWS must be a positive integer"
[[ $REPEAT =~ ^[0-9]+$ && $REPEAT -gt 0 ]] || die "BENCH_REPEAT must be a positive integer"
[[ $DB =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain lower-case name"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (Debian package time)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >&2
fi
for tool in psql ogr2ogr "$GO"; do
  command -v "$tool" >/dev/null || die "$tool not found (psql: postgresql-client, ogr2ogr: gdal-bin)"
done

# libpq URL for countysync and psql; GDAL connection string for ogr2ogr.
urlpass=""
[ -n "${PGPASSWORD:-}" ] && urlpass=":$PGPASSWORD"
PG_URL="postgres://$PGUSER$urlpass@$PGHOST:$PGPORT/$DB?sslmode=disable"
ADMIN_URL="postgres://$PGUSER$urlpass@$PGHOST:$PGPORT/postgres?sslmode=disable"
OGR_PG="PG:host=$PGHOST port=$PGPORT dbname=$DB user=$PGUSER"

log "building $BIN"
$GO build -o "$BIN" ./cmd/countysync
S3CLEAN=$ROOT/.build/bench/s3clean
if [ "$DISTRIBUTED" = 1 ]; then
  mkdir -p "$ROOT/.build/bench"
  $GO build -o "$S3CLEAN" ./scripts/s3clean
fi
# s3clean URL: delete a measurement's scratch prefix on MinIO (warn on failure).
s3clean() { "$S3CLEAN" "$1" 2>/dev/null || log "could not delete the objects under $1"; }

# ---------------------------------------------------------------- seed ----
seed() {
  log "creating database $DB with PostGIS and $ROWS parcels"
  PGOPTIONS="-c client_min_messages=warning" \
    psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
  # One session: setseed makes random() repeatable; a serial plan keeps the
  # order in which rows draw their numbers fixed.
  psql -X -q -v ON_ERROR_STOP=1 -v rows="$ROWS" -d "$PG_URL" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION postgis;
SET max_parallel_workers_per_gather = 0;
SET TIME ZONE 'UTC';
CREATE TABLE parcels (
  id             bigint PRIMARY KEY,
  parcel_no      text NOT NULL,
  owner          text,
  address        text,
  land_use       text,
  assessed_value numeric(14,2),
  area_sqft      double precision,
  year_built     int,
  tax_exempt     boolean,
  last_sale      date,
  notes          text,
  updated_at     timestamptz,
  geom           geometry(Polygon, 4326)
);
SELECT setseed(0.4242) \g /dev/null
INSERT INTO parcels
SELECT b.g,
       format('%s-%s-%s-%s', lpad((b.g % 97)::text, 2, '0'), lpad((b.g / 97 % 1000)::text, 3, '0'),
              lpad((b.g % 1000)::text, 3, '0'), lpad(b.g::text, 7, '0')),
       CASE
         WHEN b.r1 < 0.05 THEN NULL
         WHEN b.r1 < 0.10 THEN ''
         WHEN b.r1 < 0.20 THEN (ARRAY['Smith', 'Johnson', 'Olson', 'Nguyen', 'García', 'Müller'])[1 + (b.g % 6)]
                                || ', ' || (ARRAY['John', 'Mary', 'Ana', 'Lê', 'Zoë'])[1 + (b.g % 5)]
         WHEN b.r1 < 0.25 THEN 'The "' || (ARRAY['Oak', 'Maple', 'Birch'])[1 + (b.g % 3)] || '" Family Trust'
         WHEN b.r1 < 0.28 THEN E'Estate of J. O''Brien\nc/o Ørsted & Søn, LLC'
         WHEN b.r1 < 0.30 THEN 'Dane County 🏛 Land Bank'
         ELSE (ARRAY['SMITH JOHN', 'OLSON MARY A', 'NGUYEN THANH', 'KOWALSKI ANNA', 'BROWN ROBERT J',
                     'JOHNSON ERIK & KARIN', 'HANSEN PROPERTIES LLC', 'CITY OF SPRINGFIELD'])[1 + (b.g % 8)]
       END,
       (100 + b.g % 9900)::text || ' ' ||
         (ARRAY['N Main St', 'E Washington Ave', 'Old Sauk Rd', 'County Hwy M', 'Lakeshore Dr', 'Mineral Point Rd'])[1 + (b.g % 6)]
         || CASE WHEN b.r2 < 0.1 THEN ', Unit ' || (1 + b.g % 40)::text ELSE '' END,
       (ARRAY['RESIDENTIAL', 'COMMERCIAL', 'AGRICULTURAL', 'INDUSTRIAL', 'EXEMPT', 'VACANT'])[1 + floor(b.r3 * 6)::int],
       round((20000 + b.r4 * 900000)::numeric, 2),
       2000 + b.r5 * 80000,
       CASE WHEN b.r6 < 0.15 THEN NULL ELSE 1850 + floor(b.r6 * 175)::int END,
       b.r3 >= 5.0 / 6,
       date '1970-01-01' + floor(b.r7 * 20000)::int,
       CASE
         WHEN b.r8 < 0.40 THEN NULL
         WHEN b.r8 < 0.60 THEN 'Split from parcel ' || (b.g + 17)::text || ' in ' || (1990 + b.g % 30)::text
         WHEN b.r8 < 0.75 THEN E'Easement: "north 20 ft", utility\nsee doc #' || (b.g * 7 % 100000)::text
         WHEN b.r8 < 0.85 THEN E'Owner says "it''s a barn, not a house";\r\nreinspect'
         ELSE 'Remarks, with commas, and a tab	inside'
       END,
       timestamptz '2024-01-01 00:00:00+00' + b.r9 * interval '500 days',
       (SELECT ST_SetSRID(ST_MakePolygon(ST_AddPoint(s.l, ST_StartPoint(s.l))), 4326)
          FROM (SELECT ST_MakeLine(ST_MakePoint(
                         b.cx + b.rad * (0.8 + 0.4 * random()) * cos(2 * pi() * k / 12),
                         b.cy + b.rad * (0.8 + 0.4 * random()) * sin(2 * pi() * k / 12)) ORDER BY k) AS l
                  FROM generate_series(0, 11) AS k) AS s)
FROM (SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
             random() AS r6, random() AS r7, random() AS r8, random() AS r9,
             -89.84 + random() * 0.83 AS cx, 42.84 + random() * 0.57 AS cy,
             0.0002 + random() * 0.0008 AS rad
        FROM generate_series(1, :rows) AS g) AS b;
VACUUM ANALYZE parcels;
SQL
  local n
  n=$(psql -X -qtA -d "$PG_URL" -c "SELECT count(*) FROM parcels")
  [ "$n" = "$ROWS" ] || die "seeded $n rows, wanted $ROWS"
}

# The "unordered" table: the same parcels after an UPDATE of a random 10%
# (no VACUUM FULL, no CLUSTER), so the heap is no longer in key order, the
# way a table that is updated all day looks. Its query has no ORDER BY.
seed_unordered() {
  log "creating parcels_unordered (10% of the rows updated in place)"
  psql -X -q -v ON_ERROR_STOP=1 -d "$PG_URL" <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS parcels_unordered;
CREATE TABLE parcels_unordered (LIKE parcels INCLUDING ALL);
INSERT INTO parcels_unordered SELECT * FROM parcels ORDER BY id;
VACUUM ANALYZE parcels_unordered;
SELECT setseed(0.1313) \g /dev/null
UPDATE parcels_unordered SET updated_at = updated_at + interval '1 day'
 WHERE id IN (SELECT id FROM parcels_unordered WHERE random() < 0.1);
ANALYZE parcels_unordered;
SQL
}

if [ "$SEED" = 0 ]; then
  n=$(psql -X -qtA -d "$PG_URL" -c "SELECT count(*) FROM parcels" 2>/dev/null) || die "BENCH_SEED=0 but $DB has no parcels table"
  [ "$n" = "$ROWS" ] || die "BENCH_SEED=0 but $DB has $n parcels, not $ROWS"
  log "reusing $DB ($n parcels)"
  n=$(psql -X -qtA -d "$PG_URL" -c "SELECT count(*) FROM parcels_unordered" 2>/dev/null) || n=0
  [ "$n" = "$ROWS" ] || seed_unordered
else
  seed
  seed_unordered
fi

# ------------------------------------------------------------- set up ----
mkdir -p .build/bench
WORK=$(mktemp -d "$ROOT/.build/bench/run.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

QUERY="SELECT * FROM parcels ORDER BY id"
COPY_QUERY="SELECT id, parcel_no, owner, address, land_use, assessed_value, area_sqft, year_built, tax_exempt, last_sale, notes, updated_at, ST_AsText(geom) AS geom FROM parcels ORDER BY id"

CONFIG=$WORK/countysync.bench.yaml
cat >"$CONFIG" <<EOF
# written by scripts/bench.sh
source: {url: "$PG_URL"}
storage: {url: "file://$WORK/exports"}
formats: [sqlite, csv, json, geojson]
datasets:
  - name: parcels
    query: $QUERY
    key_columns: [id]
    geometry: {column: geom}
EOF
# The unordered rows: the same dataset read from the shuffled heap, no ORDER BY.
QUERY_U="SELECT * FROM parcels_unordered"
COPY_QUERY_U="SELECT id, parcel_no, owner, address, land_use, assessed_value, area_sqft, year_built, tax_exempt, last_sale, notes, updated_at, ST_AsText(geom) AS geom FROM parcels_unordered"
CONFIG_U=$WORK/countysync.bench-unordered.yaml
cat >"$CONFIG_U" <<EOF
# written by scripts/bench.sh
source: {url: "$PG_URL"}
storage: {url: "file://$WORK/exports"}
formats: [sqlite, csv, json, geojson]
datasets:
  - name: parcels
    query: $QUERY_U
    key_columns: [id]
    geometry: {column: geom}
EOF
"$BIN" validate --config "$CONFIG_U" >/dev/null 2>"$WORK/validate.err" || { cat "$WORK/validate.err" >&2; die "config does not validate"; }
# The embedded run on MinIO (BENCH_DISTRIBUTED=1) keeps its state in a file.
CONFIG_S3=$WORK/countysync.bench-s3.yaml
{ cat "$CONFIG"; echo "state: {url: \"file://$WORK/state\"}"; } >"$CONFIG_S3"
"$BIN" validate --config "$CONFIG_S3" >/dev/null 2>"$WORK/validate.err" || { cat "$WORK/validate.err" >&2; die "config does not validate"; }
"$BIN" validate --config "$CONFIG" >/dev/null 2>"$WORK/validate.err" || { cat "$WORK/validate.err" >&2; die "config does not validate"; }

# Work ids, in the order of the table. Each has a label, a reference, a target
# ratio (none for the GeoPackage rows, which only compare) and a command
# (below, in work_cmd).
WORKS=(psql_csv ogr_geojson ogr_sqlite ogr_gpkg cs_csv cs_geojson cs_sqlite cs_gpkg cs_all
       psql_csv_u ogr_sqlite_u cs_csv_u cs_sqlite_u cs_all_u)
declare -A LABEL=(
  [psql_csv]='`psql \copy` CSV (geometry as WKT)'
  [ogr_geojson]='`ogr2ogr -f GeoJSON`'
  [ogr_sqlite]='`ogr2ogr -f SQLite`'
  [ogr_gpkg]='`ogr2ogr -f GPKG` (no spatial index)'
  [cs_csv]='`countysync run --formats csv`'
  [cs_geojson]='`countysync run --formats geojson`'
  [cs_sqlite]='`countysync run --formats sqlite`'
  [cs_gpkg]='`countysync run --formats gpkg`'
  [cs_all]='`countysync run` all four formats'
  [psql_csv_u]='unordered: `psql \copy` CSV, no ORDER BY'
  [ogr_sqlite_u]='unordered: `ogr2ogr -f SQLite`, no ORDER BY'
  [cs_csv_u]='unordered: `countysync run --formats csv`'
  [cs_sqlite_u]='unordered: `countysync run --formats sqlite`'
  [cs_all_u]='unordered: `countysync run` all four formats'
  [emb_s3]='`countysync run` all four formats, MinIO storage'
  [dist_all]='distributed: `worker` + `enqueue --wait`, MinIO, four formats'
)
declare -A REF=([cs_csv]=psql_csv [cs_geojson]=ogr_geojson [cs_sqlite]=ogr_sqlite [cs_gpkg]=ogr_gpkg [cs_all]=psql_csv [emb_s3]=cs_all [dist_all]=emb_s3
                [cs_csv_u]=psql_csv_u [cs_sqlite_u]=ogr_sqlite_u [cs_all_u]=psql_csv_u)
declare -A TARGET=([cs_csv]=1.3 [cs_geojson]=0.3 [cs_sqlite]=0.8 [cs_all]=3 [dist_all]=1.5 [cs_csv_u]=1.3 [cs_sqlite_u]=0.8 [cs_all_u]=3)
RSS_TARGET_MB=150

if [ -n "$ONLY" ]; then
  sel=()
  for w in "${WORKS[@]}"; do [[ " $ONLY " == *" $w "* ]] && sel+=("$w"); done
  WORKS=("${sel[@]}")
fi

# work_cmd ID DIR: sets CMD to the command of one measurement writing into DIR
# (countysync's report goes to stdout).
work_cmd() {
  local id=$1 dir=$2
  case $id in
    psql_csv)    CMD=(psql -X -q -v ON_ERROR_STOP=1 -d "$PG_URL" -c "\\copy ($COPY_QUERY) TO '$dir/parcels.csv' CSV HEADER") ;;
    ogr_geojson) CMD=(ogr2ogr -f GeoJSON "$dir/parcels.geojson" "$OGR_PG" -sql "$QUERY" -nln parcels) ;;
    ogr_sqlite)  CMD=(ogr2ogr -f SQLite "$dir/parcels.sqlite" "$OGR_PG" -sql "$QUERY" -nln parcels) ;;
    ogr_gpkg)    CMD=(ogr2ogr -f GPKG "$dir/parcels.gpkg" "$OGR_PG" -sql "$QUERY" -nln parcels -lco SPATIAL_INDEX=NO) ;;
    cs_csv)      cs_cmd "$dir" csv ;;
    cs_geojson)  cs_cmd "$dir" geojson ;;
    cs_sqlite)   cs_cmd "$dir" sqlite ;;
    cs_gpkg)     cs_cmd "$dir" gpkg ;;
    cs_all)      cs_cmd "$dir" sqlite,csv,json,geojson ;;
    psql_csv_u)  CMD=(psql -X -q -v ON_ERROR_STOP=1 -d "$PG_URL" -c "\\copy ($COPY_QUERY_U) TO '$dir/parcels.csv' CSV HEADER") ;;
    ogr_sqlite_u) CMD=(ogr2ogr -f SQLite "$dir/parcels.sqlite" "$OGR_PG" -sql "$QUERY_U" -nln parcels) ;;
    cs_csv_u)    cs_cmd "$dir" csv "$CONFIG_U" ;;
    cs_sqlite_u) cs_cmd "$dir" sqlite "$CONFIG_U" ;;
    cs_all_u)    cs_cmd "$dir" sqlite,csv,json,geojson "$CONFIG_U" ;;
    emb_s3)      s3_storage
                 CMD=(env COUNTYSYNC_STORAGE_URL="$S3_STORAGE" "$BIN" run --config "$CONFIG_S3" --log-level warn) ;;
    *) die "unknown work $id" ;;
  esac
}
cs_cmd() { CMD=("$BIN" run --config "${3:-$CONFIG}" --export-dir "$1/exports" --formats "$2" --log-level warn); }

declare -A TIMES RSS LOADS CPU

# measure ID: one timed run of a work, appended to TIMES/RSS/LOADS.
measure() {
  local id=$1 dir=$WORK/$1 tf
  rm -rf "$dir"
  mkdir -p "$dir"
  tf=$dir/time.txt
  LOADS[$id]+="$(cut -d' ' -f1 /proc/loadavg) "
  work_cmd "$id" "$dir"
  if ! /usr/bin/time -f "%e %M %U %S" -o "$tf" "${CMD[@]}" >"$dir/stdout" 2>"$dir/stderr"; then
    cat "$dir/stderr" >&2
    die "$id failed"
  fi
  if [[ $id == cs_* || $id == emb_* ]] && ! grep -q '"success": *true' "$dir/stdout"; then
    cat "$dir/stdout" "$dir/stderr" >&2
    die "$id: countysync reported a failure"
  fi
  local e m u sy
  read -r e m u sy < <(tail -n1 "$tf")
  TIMES[$id]+="$e "
  RSS[$id]+="$m "
  CPU[$id]+="$(awk -v u="$u" -v s="$sy" 'BEGIN {printf "%.2f", u + s}') "
  log "$id run: ${e}s, $((m / 1024)) MB, CPU $u user + $sy sys"
  rm -rf "$dir"
  # The MinIO run's files (1 GB and more per run) go, untimed.
  if [ "$id" = emb_s3 ]; then s3clean "$S3_STORAGE"; fi
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
maxof()  { tr ' ' '\n' | sed '/^$/d' | sort -g | tail -n1; }

# ----------------------------------------------------- distributed run ----
# s3_storage: sets S3_STORAGE to a storage URL on COUNTYSYNC_TEST_S3 under a
# prefix of its own (so runs never meet each other's files) and exports the
# credentials. COUNTYSYNC_TEST_S3 is either an s3:// storage URL (credentials
# from the environment) or, as scripts/services.sh prints it,
# http://USER:PASSWORD@HOST:PORT.
s3_storage() {
  local s3=${COUNTYSYNC_TEST_S3:-}
  [ -n "$s3" ] || die "BENCH_DISTRIBUTED=1 needs COUNTYSYNC_TEST_S3 (eval \"\$(scripts/services.sh)\")"
  local prefix="bench-$(date +%s%N)"
  case $s3 in
    s3://*\?*) S3_STORAGE="${s3%%\?*}/$prefix?${s3#*\?}" ;;
    s3://*)    S3_STORAGE="${s3%/}/$prefix" ;;
    http://*@* | https://*@*)
      local scheme=${s3%%://*} rest=${s3#*://} creds host secure=false
      creds=${rest%@*}; host=${rest##*@}; host=${host%%/*}
      [ "$scheme" = https ] && secure=true
      export AWS_ACCESS_KEY_ID=${creds%%:*} AWS_SECRET_ACCESS_KEY=${creds#*:}
      S3_STORAGE="s3://countysync-bench/$prefix?endpoint=$host&secure=$secure" ;;
    *) die "COUNTYSYNC_TEST_S3 must be s3://bucket/prefix?endpoint=… or http://USER:PASSWORD@HOST:PORT" ;;
  esac
}

# A worker (its peak RSS counts) plus `enqueue --wait` on MinIO storage.
measure_distributed() {
  local redis=${COUNTYSYNC_TEST_REDIS:-${COUNTYSYNC_REDIS_URL:-}}
  [ -n "$redis" ] || die "BENCH_DISTRIBUTED=1 needs COUNTYSYNC_TEST_REDIS or COUNTYSYNC_REDIS_URL"
  local dir=$WORK/dist_all wt=$WORK/dist_worker.time wpid child e m start end
  rm -rf "$dir"; mkdir -p "$dir"
  s3_storage
  local storage=$S3_STORAGE
  # A Redis DB of its own (BENCH_REDIS_DB, default 14), so no other worker
  # on the same Redis takes the bench's tasks.
  case $redis in
    redis://*/[0-9]*) redis="${redis%/*}/${BENCH_REDIS_DB:-14}" ;;
    *) redis="${redis%/}/${BENCH_REDIS_DB:-14}" ;;
  esac
  export COUNTYSYNC_STORAGE_URL=$storage COUNTYSYNC_REDIS_URL=$redis
  /usr/bin/time -f "%e %M %U %S" -o "$wt" "$BIN" worker --config "$CONFIG" --concurrency 2 --listen off \
    >"$dir/worker.out" 2>"$dir/worker.err" &
  wpid=$!
  sleep 1
  LOADS[dist_all]+="$(cut -d' ' -f1 /proc/loadavg) "
  start=$(date +%s.%N)
  if ! "$BIN" enqueue --config "$CONFIG" --formats sqlite,csv,json,geojson --wait --timeout 30m \
      >"$dir/report.json" 2>"$dir/enqueue.err"; then
    cat "$dir/enqueue.err" "$dir/worker.err" >&2
    child=$(pgrep -P "$wpid" || true); [ -n "$child" ] && kill -TERM "$child"
    wait "$wpid" || true
    die "distributed run failed"
  fi
  end=$(date +%s.%N)
  child=$(pgrep -P "$wpid" || true)
  [ -n "$child" ] && kill -TERM "$child"
  wait "$wpid" || true
  unset COUNTYSYNC_STORAGE_URL COUNTYSYNC_REDIS_URL
  grep -q '"success": *true' "$dir/report.json" || { cat "$dir/report.json" >&2; die "distributed run reported a failure"; }
  e=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}')
  local u sy
  read -r _ m u sy < <(tail -n1 "$wt")
  TIMES[dist_all]+="$e "
  RSS[dist_all]+="$m "
  CPU[dist_all]+="$(awk -v u="$u" -v s="$sy" 'BEGIN {printf "%.2f", u + s}') "
  log "dist_all run: ${e}s, worker $((m / 1024)) MB"
  rm -rf "$dir"
  s3clean "$storage"
}

# ------------------------------------------------------------ measure ----
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "warm-up (untimed): one countysync csv run and one psql \\copy"
for id in cs_csv psql_csv; do work_cmd "$id" "$WORK"; "${CMD[@]}" >/dev/null 2>&1 || true; done
rm -rf "$WORK/exports" "$WORK/parcels.csv"

# Round-robin, so that changes in the machine's load hit every work alike.
for r in $(seq 1 "$REPEAT"); do
  log "round $r of $REPEAT"
  for id in "${WORKS[@]}"; do measure "$id"; done
  if [ "$DISTRIBUTED" = 1 ] && [[ " ${WORKS[*]} " == *" cs_all "* ]]; then measure emb_s3; measure_distributed; fi
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)


# -------------------------------------------------------------- table ----
fmt_rows=$(sed -E ':a; s/([0-9])([0-9]{3})($|,)/\1,\2\3/; ta' <<<"$ROWS")
TABLE=$WORK/table.md
{
  echo "| work | median s | runs s | ratio | vs | peak RSS MB | target | result | client CPU s | load 1m |"
  echo "|---|---:|---|---:|---|---:|---|---|---:|---:|"
  # row ID REF TARGET [VS]: one line of the table, ID's median against REF's.
  row() {
    local id=$1 ref=$2 tgt=$3 vs=${4:-}
    local med rss rss_mb load ratio="—" target="—" result="—" cpu rmed
    med=$(median <<<"${TIMES[$id]}")
    rss=$(maxof <<<"${RSS[$id]}")
    rss_mb=$(awk -v k="$rss" 'BEGIN {printf "%.0f", k / 1024}')
    load=$(median <<<"${LOADS[$id]}")
    if [ -z "$ref" ]; then
      vs="reference"
    elif [ -n "${TIMES[$ref]:-}" ]; then
      rmed=$(median <<<"${TIMES[$ref]}")
      ratio=$(awk -v a="$med" -v b="$rmed" 'BEGIN {printf "%.3g×", (b > 0 ? a / b : 0)}')
      vs=${vs:-${LABEL[$ref]}}
      if [ -n "$tgt" ]; then
        target="≤ ${tgt}×"
        result=$(awk -v a="$med" -v b="$rmed" -v t="$tgt" 'BEGIN {print (b > 0 && a / b <= t) ? "pass" : "**fail**"}')
      fi
    else
      vs="(${ref} not measured)"
    fi
    cpu=$(median <<<"${CPU[$id]:-}")
    echo "| ${LABEL[$id]} | $med | ${TIMES[$id]% } | $ratio | $vs | $rss_mb | $target | $result | ${cpu:-—} | $load |"
  }
  for id in "${WORKS[@]}"; do row "$id" "${REF[$id]:-}" "${TARGET[$id]:-}"; done
  if [ "$DISTRIBUTED" = 1 ] && [ -n "${TIMES[dist_all]:-}" ]; then
    row emb_s3 cs_all "" '`countysync run` all four formats (local disk)'
    row dist_all emb_s3 1.5 'embedded on the same MinIO'
    row dist_all cs_all 1.5 'embedded on local disk (the issue'"'"'s wording; MinIO'"'"'s own work included)'
  fi
  for id in cs_all cs_all_u; do
    [ -n "${RSS[$id]:-}" ] || continue
    rss=$(maxof <<<"${RSS[$id]}")
    rss_mb=$(awk -v k="$rss" 'BEGIN {printf "%.0f", k / 1024}')
    res=$(awk -v m="$rss_mb" -v t="$RSS_TARGET_MB" 'BEGIN {print (m <= t) ? "pass" : "**fail**"}')
    what='`countysync run` four formats'
    [ "$id" = cs_all_u ] && what="$what, unordered"
    echo "| peak RSS, $what | — | — | — | — | $rss_mb | ≤ $RSS_TARGET_MB MB | $res | — | — |"
  done
  if [ "$DISTRIBUTED" != 1 ] || [ -z "${TIMES[dist_all]:-}" ]; then
    echo "| ${LABEL[dist_all]} | not measured (BENCH_DISTRIBUTED=1) | — | — | embedded on the same MinIO | — | ≤ 1.5× | — | — | — |"
  fi
} >"$TABLE"

pg_version=$(psql -X -qtA -d "$PG_URL" -c "SHOW server_version" | cut -d' ' -f1)
postgis_version=$(psql -X -qtA -d "$PG_URL" -c "SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
gdal_version=$(ogr2ogr --version | sed -E 's/^GDAL ([^,]+),.*/\1/')
go_version=$($GO env GOVERSION)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n1)
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)

SECTION=$WORK/section.md
{
  echo "<!-- bench:$ROWS:start -->"
  echo "## $fmt_rows parcels"
  echo
  echo "$(date -u +'%Y-%m-%d %H:%M UTC'), commit \`$commit\`$dirty, $REPEAT run(s) of each, round-robin."
  echo "Machine: $(nproc) CPUs ($cpu), $mem RAM; PostgreSQL $pg_version, PostGIS $postgis_version,"
  echo "GDAL $gdal_version, $go_version. Load average (1/5/15 min): $LOAD_BEFORE before, $LOAD_AFTER after."
  echo
  cat "$TABLE"
  echo "<!-- bench:$ROWS:end -->"
} >"$SECTION"

echo
cat "$SECTION" | sed '/^<!--/d'

if [ -n "$OUT" ]; then
  if [ ! -f "$OUT" ]; then
    cat >"$OUT" <<'EOF'
# Benchmarks

`make bench` seeds a PostGIS database (`countysync_bench`, dropped and
recreated) with a synthetic county parcels table: id, parcel number, owner
(with quotes, commas, newlines and unicode), address, land use, exact
`numeric(14,2)` assessed value, area, a nullable year built, a boolean, a date,
notes with quotes and newlines, a `timestamptz`, and a polygon of 13 vertices
in EPSG:4326, all generated in SQL with a fixed seed so runs are comparable.
It then times, round-robin and `BENCH_REPEAT` times each, on the same query
(`SELECT * FROM parcels`): `countysync run` per format and with all four,
`psql \copy (…, ST_AsText(geom)) TO file CSV HEADER`, `ogr2ogr -f GeoJSON`
and `ogr2ogr -f SQLite`. It prints the table below and replaces the section
for its row count in this file.

```sh
make bench                                  # 200,000 parcels, 3 runs of each
BENCH_ROWS=1000000 make bench               # the large run
BENCH_REPEAT=5 BENCH_ONLY="psql_csv cs_csv" make bench   # a subset
BENCH_SEED=0 BENCH_PROFILE=1 make bench     # reuse the seeded table; add a perf CPU profile
eval "$(scripts/services.sh)" && BENCH_DISTRIBUTED=1 make bench   # adds worker + MinIO
```

Times are wall-clock seconds of the whole command (median, and every run);
ratios divide medians of the same run. Peak RSS is the maximum resident set
of the client process (`/usr/bin/time`), over the runs; the database server's
memory is not counted for any tool. The machine may be shared with other work:
the load average (1 min, median over the runs' starts) is printed next to the
numbers, and only ratios measured in the same run are comparable. "client CPU
s" is the median user+system time of the measured process alone (psql and
ogr2ogr leave part of the work, such as `ST_AsText`, to the server), a steadier
number than wall time when the machine is busy.

EOF
  fi
  tmp=$OUT.tmp
  if grep -q "^<!-- bench:$ROWS:start -->" "$OUT"; then
    awk -v start="<!-- bench:$ROWS:start -->" -v end="<!-- bench:$ROWS:end -->" -v f="$SECTION" '
      $0 == start {while ((getline line < f) > 0) print line; skip = 1; next}
      $0 == end {skip = 0; next}
      !skip {print}' "$OUT" >"$tmp"
  else
    { cat "$OUT"; echo; cat "$SECTION"; } >"$tmp"
  fi
  mv "$tmp" "$OUT"
  log "wrote $OUT"
fi

if [ "${BENCH_PROFILE:-0}" = 1 ]; then
  command -v perf >/dev/null || die "BENCH_PROFILE=1 needs perf (Debian package linux-perf)"
  log "profiling countysync run, four formats (perf record -g)"
  work_cmd cs_all "$WORK/profile"
  mkdir -p "$WORK/profile"
  perf record -q -F 999 -g -o "$ROOT/.build/bench/perf-all.data" -- "${CMD[@]}" >/dev/null 2>"$WORK/profile/perf.err" \
    || { cat "$WORK/profile/perf.err" >&2; die "perf record failed"; }
  perf report -i "$ROOT/.build/bench/perf-all.data" --children --stdio -g none --percent-limit 2 2>/dev/null \
    | grep -v -e '^#' -e '^$' -e 'cobra' -e 'runtime\.main' -e 'runtime\.goexit' -e 'main\.main' -e 'internal/cli\.' \
    | sed -E 's/ +countysync +(countysync|\[kernel.kallsyms\]|libc[^ ]*) +/ /; s#github.com/countydatasync/countysync/internal/##' \
    | awk 'NR <= 40' >&2
  log "full profile: perf report -i .build/bench/perf-all.data --children"
fi
