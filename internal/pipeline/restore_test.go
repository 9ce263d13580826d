package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/pipeline"
)

// A lost state file is restored from the newest manifest (the run stays
// incremental and publishes every row); a reset watermark is not (the run
// is full).
func TestWatermarkRestoredFromManifestButNotAfterReset(t *testing.T) {
	env, dir := demoEnv(t)
	var fake = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	env.Now = func() time.Time { fake = fake.Add(time.Second); return fake }
	opts := pipeline.Options{Datasets: []string{"parcels"}}
	first := mustRun(t, env, opts)
	if first.Datasets[0].Mode != "full" {
		t.Fatalf("first run mode %s", first.Datasets[0].Mode)
	}
	if err := os.Remove(filepath.Join(dir, "exports", ".countysync", "state.json")); err != nil {
		t.Fatal(err)
	}
	second := mustRun(t, env, opts)
	d := second.Datasets[0]
	if d.Mode != "incremental" || d.Records != demo.Parcels || d.WatermarkBefore == nil ||
		*d.WatermarkBefore != *first.Datasets[0].WatermarkAfter {
		t.Fatalf("after losing the state file: mode %s, %d records, watermark before %v (want %v)",
			d.Mode, d.Records, d.WatermarkBefore, first.Datasets[0].WatermarkAfter)
	}
	if err := env.State.Reset(context.Background(), "parcels"); err != nil {
		t.Fatal(err)
	}
	third := mustRun(t, env, opts)
	if third.Datasets[0].Mode != "full" || third.Datasets[0].Records != demo.Parcels {
		t.Fatalf("after a reset: mode %s, %d records", third.Datasets[0].Mode, third.Datasets[0].Records)
	}
}

// An incremental dataset without key_columns appends: rows re-read at the
// boundary (the >= filter and the lookback) are not appended twice.
func TestAppendModeDoesNotDuplicateTheBoundary(t *testing.T) {
	dir := t.TempDir()
	if _, err := demo.Write(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, dir, `source: {url: "sqlite://`+demo.DatabaseFile+`"}
datasets:
  - name: parcels
    query: SELECT id, parcel_no, updated_at FROM parcels
    incremental: {column: updated_at, lookback: 1h}
    formats: [csv]
`)
	var fake = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	env.Now = func() time.Time { fake = fake.Add(time.Second); return fake }
	for i := 0; i < 3; i++ {
		rep := mustRun(t, env, pipeline.Options{})
		d := rep.Datasets[0]
		if d.Records != demo.Parcels {
			t.Fatalf("run %d (%s): %d records, want %d (rows read %d, inserted %d, unchanged %d)",
				i+1, d.Mode, d.Records, demo.Parcels, d.RowsRead, d.Inserted, d.Unchanged)
		}
		if i > 0 && (d.Mode != "incremental" || d.RowsRead == 0 || d.Unchanged != d.RowsRead) {
			t.Errorf("run %d: mode %s, read %d, unchanged %d", i+1, d.Mode, d.RowsRead, d.Unchanged)
		}
		recs := readCSV(t, artifact(t, rep, "parcels", "csv").Path)
		if len(recs)-1 != demo.Parcels {
			t.Fatalf("run %d: CSV has %d rows", i+1, len(recs)-1)
		}
	}
}

// A state store that went back to an older watermark (a Redis failover
// lost the write that moved it on; that publish then deleted the older
// snapshot) recovers from the manifests: the next run is incremental from
// the newer watermark and publishes every row once.
func TestWatermarkWhoseSnapshotIsGoneIsRestoredFromManifests(t *testing.T) {
	env, _ := demoEnv(t)
	var fake = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	env.Now = func() time.Time { fake = fake.Add(time.Second); return fake }
	ctx := context.Background()
	opts := pipeline.Options{Datasets: []string{"parcels"}}
	mustRun(t, env, opts)
	old, err := env.State.Get(ctx, "parcels")
	if err != nil || old == nil {
		t.Fatal(old, err)
	}
	second := mustRun(t, env, opts)
	if _, err := env.Store.Open(ctx, old.Snapshot); err == nil {
		t.Fatal("the first snapshot outlived the second publish")
	}
	// The failover: the state holds the first job's watermark again.
	if err := env.State.Set(ctx, "parcels", second.JobID, old); err != nil {
		t.Fatal(err)
	}
	third := mustRun(t, env, opts)
	d := third.Datasets[0]
	if d.Mode != pipeline.ModeIncremental || d.Records != demo.Parcels || d.WatermarkBefore == nil ||
		*d.WatermarkBefore != *second.Datasets[0].WatermarkAfter {
		t.Fatalf("after the lost watermark: mode %s, %d records, watermark before %v (want %v)",
			d.Mode, d.Records, d.WatermarkBefore, second.Datasets[0].WatermarkAfter)
	}
	ids := map[string]int{}
	for _, rec := range readCSV(t, artifact(t, third, "parcels", "csv").Path)[1:] {
		ids[rec[0]]++
	}
	if len(ids) != demo.Parcels {
		t.Fatalf("%d distinct ids in the CSV, want %d", len(ids), demo.Parcels)
	}
	if wm, err := env.State.Get(ctx, "parcels"); err != nil || wm.JobID != third.JobID {
		t.Fatalf("watermark after the run: %+v, %v", wm, err)
	}
}
