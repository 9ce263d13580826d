-- Demo county data for the docker compose stack (run by the one-shot `seed`
-- service; safe to run again: it only adds rows that are missing).
\set ON_ERROR_STOP on

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE IF NOT EXISTS parcels (
    id             integer PRIMARY KEY,
    parcel_no      text        NOT NULL UNIQUE,
    owner          text,
    land_use       text,
    assessed_value numeric(12, 2),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    is_deleted     boolean     NOT NULL DEFAULT false,
    geom           geometry(Polygon, 4326)
);

CREATE TABLE IF NOT EXISTS permits (
    id          integer PRIMARY KEY,
    parcel_id   integer REFERENCES parcels (id),
    permit_type text NOT NULL,
    status      text NOT NULL,
    issued_on   date,
    fee         numeric(10, 2),
    notes       text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- 40 parcels: a grid of small squares around 39.77 N, 89.66 W (EPSG:4326;
-- ST_MakeEnvelope rings are clockwise, countysync's GeoJSON reorients them),
-- a few NULL owners and values, one soft-deleted; plus one parcel with a hole.
INSERT INTO parcels (id, parcel_no, owner, land_use, assessed_value, updated_at, is_deleted, geom)
SELECT i,
       format('14-%s-%s', lpad((i / 10)::text, 2, '0'), lpad((i % 10)::text, 3, '0')),
       CASE WHEN i % 9 = 0 THEN NULL
            ELSE (ARRAY['Smith, John', 'O''Brien Family Trust', 'Sangamon County', 'García, María', 'Lee & Sons LLC'])[1 + i % 5]
       END,
       (ARRAY['residential', 'commercial', 'agricultural', 'exempt'])[1 + i % 4],
       CASE WHEN i % 7 = 0 THEN NULL ELSE round((85000 + i * 1234.567)::numeric, 2) END,
       timestamptz '2025-04-01 08:00:00+00' + i * interval '1 hour',
       i = 40,
       ST_SetSRID(ST_MakeEnvelope(-89.66 + (i % 10) * 0.001, 39.77 + (i / 10) * 0.001,
                                  -89.66 + (i % 10) * 0.001 + 0.0009, 39.77 + (i / 10) * 0.001 + 0.0009), 4326)
FROM generate_series(1, 40) AS i
ON CONFLICT (id) DO NOTHING;

INSERT INTO parcels (id, parcel_no, owner, land_use, assessed_value, updated_at, geom)
VALUES (41, '14-04-999', 'Springfield Park District', 'exempt', 0.00, timestamptz '2025-04-03 12:00:00+00',
        ST_GeomFromText('POLYGON((-89.650 39.780, -89.648 39.780, -89.648 39.782, -89.650 39.782, -89.650 39.780),'
                        '(-89.6495 39.7805, -89.6495 39.7815, -89.6485 39.7815, -89.6485 39.7805, -89.6495 39.7805))', 4326))
ON CONFLICT (id) DO NOTHING;

-- 60 permits with NULLs, empty strings, quotes, commas, newlines and exact fees.
INSERT INTO permits (id, parcel_id, permit_type, status, issued_on, fee, notes, updated_at)
SELECT i,
       1 + i % 41,
       (ARRAY['building', 'electrical', 'plumbing', 'demolition'])[1 + i % 4],
       (ARRAY['issued', 'pending', 'closed'])[1 + i % 3],
       CASE WHEN i % 11 = 0 THEN NULL ELSE date '2025-01-01' + i END,
       CASE WHEN i % 8 = 0 THEN NULL ELSE round((25 + i * 10.05)::numeric, 2) END,
       CASE i % 6
           WHEN 0 THEN NULL
           WHEN 1 THEN ''
           WHEN 2 THEN 'roof "as built", see file'
           WHEN 3 THEN E'line one\nline two'
           ELSE 'inspection ' || i
       END,
       timestamptz '2025-04-01 09:30:00+00' + i * interval '17 minutes'
FROM generate_series(1, 60) AS i
ON CONFLICT (id) DO NOTHING;
