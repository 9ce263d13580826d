package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/countydatasync/countysync/internal/source"
)

// horizonSQL lists the other client sessions of this database that have a
// transaction open (active or idle in transaction), before the query's
// own transaction begins and takes its snapshot: a transaction open when
// the snapshot is taken was either open here already or started after
// clock_timestamp() below. Sessions the role may not see (no
// pg_read_all_stats, another user) show "<insufficient privilege>" and no
// xact_start; they are counted apart. Background processes (autovacuum,
// walsenders) write no user rows and are left out, and so are the
// read-only transactions of CountyDataSync itself (sessions with this
// session's application_name that hold no transaction id: they never
// write).
const horizonSQL = `SELECT clock_timestamp(), clock_timestamp()::timestamp,
	count(xact_start)::int4,
	min(xact_start), min(xact_start)::timestamp,
	coalesce((array_agg(pid ORDER BY xact_start) FILTER (WHERE xact_start IS NOT NULL))[1], 0)::int4,
	count(*) FILTER (WHERE query = '<insufficient privilege>')::int4
FROM pg_catalog.pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
	AND (backend_type = 'client backend' OR query = '<insufficient privilege>')
	AND NOT coalesce(application_name = current_setting('application_name') AND backend_xid IS NULL, false)`

// readHorizon runs horizonSQL on conn, outside any transaction.
func readHorizon(ctx context.Context, conn *pgx.Conn) (*source.Horizon, error) {
	h := &source.Horizon{}
	var oldest, oldestLocal *time.Time
	var open, pid, hidden int32
	if err := conn.QueryRow(ctx, horizonSQL).Scan(&h.Now, &h.NowLocal, &open, &oldest, &oldestLocal, &pid, &hidden); err != nil {
		return nil, err
	}
	h.Now, h.NowLocal = h.Now.UTC(), wall(h.NowLocal)
	h.Open, h.OldestPID, h.Hidden = int(open), int(pid), int(hidden)
	if oldest != nil && oldestLocal != nil {
		h.OldestStart, h.OldestLocal = oldest.UTC(), wall(*oldestLocal)
	}
	return h, nil
}

// wall returns a timestamp without time zone as its wall clock in UTC, the
// form record.Timestamp values take.
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
