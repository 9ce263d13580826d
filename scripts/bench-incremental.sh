#!/usr/bin/env bash
# Incremental benchmark (issue "Incremental sync…"): a table of N rows
# (default 1,000,000) with an index on its cursor, one full run, then 1% of
# the rows changed and an incremental run. Prints, for both runs, the
# extract time (query + merge into the snapshot) and the total, from the
# reports. Extraction should scale with the changed rows; rendering the
# files scales with the table (every file is the whole table).
#
#   eval "$(scripts/services.sh)"; scripts/bench-incremental.sh
#   BENCH_INC_ROWS=200000 scripts/bench-incremental.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${BENCH_INC_ROWS:-1000000}
DB=${BENCH_INC_DB:-countysync_bench_inc}
PG_ADMIN=${COUNTYSYNC_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
PG_URL=${PG_ADMIN/\/postgres\?/\/$DB?}
WORK=.build/bench-inc
mkdir -p "$WORK"
go build -o bin/countysync ./cmd/countysync

psql -X -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q "$PG_URL" <<SQL
CREATE EXTENSION postgis;
SELECT setseed(0.42);
CREATE TABLE parcels AS
SELECT g AS id, 'P-' || g AS parcel_no, 'Owner ' || g AS owner,
       round((random() * 900000)::numeric, 2) AS value,
       timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second' AS updated_at,
       ST_SetSRID(ST_Buffer(ST_MakePoint(-77.5 + random() * 0.5, 38.8 + random() * 0.5), 0.0004, 3), 4326) AS geom
FROM generate_series(1, $ROWS) g;
ALTER TABLE parcels ADD PRIMARY KEY (id);
CREATE INDEX ON parcels (updated_at);
VACUUM ANALYZE parcels;
SQL

cat > "$WORK/countysync.yaml" <<YAML
source: {url: "$PG_URL"}
storage: {url: "file://./exports"}
formats: [csv, geojson]
datasets:
  - name: parcels
    query: SELECT * FROM parcels
    key_columns: [id]
    geometry: {column: geom}
    incremental: {column: updated_at, lookback: 5m}
YAML
rm -rf "$WORK/exports"

summary() {
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d = r["datasets"]["parcels"]
print("%-12s rows_read=%8d  extract=%6.2fs  export=%6.2fs  total=%6.2fs  inserted=%d updated=%d unchanged=%d" % (
    sys.argv[2], d["rows_read"], d.get("extract_seconds", 0), d.get("export_seconds", 0),
    d["duration_seconds"], d["inserted"], d["updated"], d["unchanged"]))
PY
}
bin/countysync run --config "$WORK/countysync.yaml" > "$WORK/full.json" 2> "$WORK/full.log"
CHANGED=$((ROWS / 100))
psql -X -q "$PG_URL" -c "UPDATE parcels SET owner = owner || ' (sold)', updated_at = now() WHERE id % 100 = 0"
sleep 1
bin/countysync run --config "$WORK/countysync.yaml" > "$WORK/inc.json" 2> "$WORK/inc.log"
echo "incremental benchmark: $ROWS rows, $CHANGED changed (1%), formats csv+geojson"
summary "$WORK/full.json" "full run"
summary "$WORK/inc.json" "incremental"
