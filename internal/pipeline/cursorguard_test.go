package pipeline_test

import (
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/pipeline"
)

// One cursor value far in the future, or a numeric NaN/Infinity, or a
// float Infinity, never becomes the watermark: the row is exported and
// named in the warnings, and later changes are still read (red-team D3).
func TestInsaneCursorValuesDoNotBecomeTheWatermark(t *testing.T) {
	cases := []struct {
		name, ddl, seed, poison, later string
	}{
		{
			name:   "timestamptz a day ahead",
			ddl:    `CREATE TABLE t (id int PRIMARY KEY, val text NOT NULL, c timestamptz NOT NULL)`,
			seed:   `INSERT INTO t SELECT g, 'v' || g, now() - interval '1 hour' FROM generate_series(1, 20) g`,
			poison: `UPDATE t SET val = 'skewed', c = now() + interval '1 day' WHERE id = 1`,
			later:  `UPDATE t SET val = 'edited-later', c = now() WHERE id = 2; INSERT INTO t VALUES (21, 'new', now())`,
		},
		{
			name:   "timestamp without time zone a day ahead",
			ddl:    `CREATE TABLE t (id int PRIMARY KEY, val text NOT NULL, c timestamp NOT NULL)`,
			seed:   `INSERT INTO t SELECT g, 'v' || g, localtimestamp - interval '1 hour' FROM generate_series(1, 20) g`,
			poison: `UPDATE t SET val = 'skewed', c = localtimestamp + interval '1 day' WHERE id = 1`,
			later:  `UPDATE t SET val = 'edited-later', c = localtimestamp WHERE id = 2; INSERT INTO t VALUES (21, 'new', localtimestamp)`,
		},
		{
			name:   "numeric NaN",
			ddl:    `CREATE TABLE t (id int PRIMARY KEY, val text NOT NULL, c numeric NOT NULL)`,
			seed:   `INSERT INTO t SELECT g, 'v' || g, g FROM generate_series(1, 20) g`,
			poison: `UPDATE t SET val = 'nan', c = 'NaN' WHERE id = 1`,
			later:  `UPDATE t SET val = 'edited-later', c = 100 WHERE id = 2; INSERT INTO t VALUES (21, 'new', 101)`,
		},
		{
			name:   "numeric Infinity",
			ddl:    `CREATE TABLE t (id int PRIMARY KEY, val text NOT NULL, c numeric NOT NULL)`,
			seed:   `INSERT INTO t SELECT g, 'v' || g, g FROM generate_series(1, 20) g`,
			poison: `UPDATE t SET val = 'inf', c = 'Infinity' WHERE id = 1`,
			later:  `UPDATE t SET val = 'edited-later', c = 100 WHERE id = 2; INSERT INTO t VALUES (21, 'new', 101)`,
		},
		{
			name:   "float8 Infinity",
			ddl:    `CREATE TABLE t (id int PRIMARY KEY, val text NOT NULL, c float8 NOT NULL)`,
			seed:   `INSERT INTO t SELECT g, 'v' || g, g FROM generate_series(1, 20) g`,
			poison: `UPDATE t SET val = 'inf', c = 'Infinity' WHERE id = 1`,
			later:  `UPDATE t SET val = 'edited-later', c = 100 WHERE id = 2; INSERT INTO t VALUES (21, 'new', 101)`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lt := newLiveTable(t, c.ddl, "{column: c}")
			lt.exec(t, c.seed)
			mustRun(t, lt.env, pipeline.Options{})
			lt.exec(t, c.poison)
			rep := mustRun(t, lt.env, pipeline.Options{})
			lt.check(t, rep, "run with the poisoned row")
			res := rep.Datasets[0]
			warned := false
			for _, w := range res.Warnings {
				warned = warned || (strings.Contains(w, "id=1") && strings.Contains(w, "cursor c"))
			}
			if !warned {
				t.Errorf("no warning naming id=1 and the cursor: %q", res.Warnings)
			}
			for _, w := range strings.Split(c.later, "; ") {
				lt.exec(t, w)
			}
			rep = mustRun(t, lt.env, pipeline.Options{})
			lt.check(t, rep, "run after later changes")
			t.Logf("watermark %+v", rep.Datasets[0].WatermarkAfter)
		})
	}
}
