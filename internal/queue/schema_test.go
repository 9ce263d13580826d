package queue

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/pipeline"
)

// A column added to the source between two jobs makes the workers' next
// run of the incremental dataset full (schema: evolve), as in the embedded
// runner: the report says why, and every row of the CSV has the new
// column's value from the database, read back with encoding/csv and
// compared with database/sql.
func TestHandlersSchemaEvolve(t *testing.T) {
	env := demoEnv(t, "")
	q := newFakeQueue(t, &Handlers{Env: env})
	if rep := runJob(t, q, pipeline.Options{}); !rep.Success {
		t.Fatalf("first job: %s", rep.Error)
	}
	dbPath := strings.TrimPrefix(env.Config.Source.URL, "sqlite://")
	db, err := sql.Open("sqlite3", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`ALTER TABLE parcels ADD COLUMN zone TEXT`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE parcels SET zone = 'Z' || (id % 4)`); err != nil { // updated_at kept: only a full run reads these
		t.Fatal(err)
	}
	rep := runJob(t, q, pipeline.Options{})
	if !rep.Success {
		t.Fatalf("second job: %s", rep.Error)
	}
	var parcels *pipeline.DatasetResult
	for _, d := range rep.Datasets {
		if d.Name == "parcels" {
			parcels = d
		}
	}
	if parcels.Mode != pipeline.ModeFull || !strings.Contains(parcels.FullReason, "schema") ||
		!slices.Contains(parcels.SchemaChanges, "column zone (text) added") {
		t.Fatalf("parcels: mode %s, full_reason %q, schema_changes %q", parcels.Mode, parcels.FullReason, parcels.SchemaChanges)
	}
	want := map[string]string{}
	rows, err := db.Query(`SELECT id, zone FROM parcels`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, zone string
		rows.Scan(&id, &zone)
		want[id] = zone
	}
	rows.Close()
	var latest string
	for _, a := range parcels.Artifacts {
		if a.Format == "csv" {
			latest = a.Latest
		}
	}
	recs, err := csv.NewReader(bytes.NewReader(readObject(t, env.Store, latest))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	zi := slices.Index(recs[0], "zone")
	if zi < 0 || len(recs)-1 != len(want) {
		t.Fatalf("header %v, %d rows, want zone and %d rows", recs[0], len(recs)-1, len(want))
	}
	for _, r := range recs[1:] {
		if r[zi] != want[r[0]] {
			t.Fatalf("parcel %s: zone %q, database %q", r[0], r[zi], want[r[0]])
		}
	}
}
