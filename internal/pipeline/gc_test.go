package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// gcEnv is the demo county on local storage, or on MinIO when s3 (with a
// state file), with a clock that starts three days ago.
func gcEnv(t *testing.T, s3 bool) (*pipeline.Env, time.Time) {
	t.Helper()
	dir := t.TempDir()
	cfgPath, err := demo.Write(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if s3 {
		cfg.Storage.URL = testsvc.S3(t)
		cfg.State.URL = "file://" + filepath.Join(dir, "state.json")
	}
	env := openEnv(t, cfg)
	now := time.Now().UTC().Truncate(time.Second)
	fake := now.Add(-72 * time.Hour)
	env.Now = func() time.Time { fake = fake.Add(time.Second); return fake }
	return env, now
}

func stampAt(t time.Time) string { return t.UTC().Format(pipeline.JobIDLayout) }

// gc lists exactly the garbage (stray timestamped files and snapshots
// older than --older-than, temporary files of dead writers) and keeps
// what manifests list, what a watermark names, what a latest name holds,
// anything newer and anything it does not name; --apply deletes exactly
// the list, and the next run still publishes every row incrementally.
func TestGCCollectsOnlyUnreferencedOldObjects(t *testing.T) {
	for _, s3 := range []bool{false, true} {
		name := "local"
		if s3 {
			name = "minio"
		}
		t.Run(name, func(t *testing.T) {
			env, now := gcEnv(t, s3)
			ctx := context.Background()
			opts := pipeline.Options{Datasets: []string{"parcels"}}
			first := mustRun(t, env, opts)
			second := mustRun(t, env, opts)
			put := func(key, body string) {
				t.Helper()
				if err := env.Store.PutBytes(ctx, key, []byte(body)); err != nil {
					t.Fatal(err)
				}
			}
			old := stampAt(now.Add(-48 * time.Hour))
			young := stampAt(now.Add(2 * time.Hour)) // newer than the cutoff below
			garbage := []string{
				"parcels_" + old + ".csv",                        // a run that died before its manifest
				"permits_" + old + ".json",                       // a dataset of the config, never published
				pipeline.SnapshotKey("parcels", "etl_"+old),      // a snapshot nobody names
				pipeline.SnapshotKey("gone_dataset", "etl_"+old), // of a dataset that has left the config
			}
			for _, k := range garbage {
				put(k, "stray "+k)
			}
			kept := []string{
				"parcels_" + young + ".csv",                   // too new
				"unknown_" + old + ".csv",                     // not a dataset countysync knows
				"notes/readme.txt",                            // not a name countysync gives
				pipeline.SnapshotKey("parcels", "etl_"+young), // too new
				pipeline.SnapshotKey("permits", "etl_"+old),   // named by a watermark (below)
			}
			for _, k := range kept {
				put(k, "keep "+k)
			}
			// A watermark that names a snapshot no manifest names.
			wm := &state.Watermark{Cursor: *second.Datasets[0].WatermarkAfter, JobID: "etl_" + old, Snapshot: pipeline.SnapshotKey("permits", "etl_"+old)}
			if err := env.State.Set(ctx, "permits", "", wm); err != nil {
				t.Fatal(err)
			}
			// The newest job's manifests are lost: its files are held by
			// the latest names (and its snapshot by the watermark).
			for _, k := range []string{pipeline.ManifestKey(second.JobID), pipeline.DatasetManifestKey(second.JobID, "parcels")} {
				if err := env.Store.Delete(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
			if !s3 {
				// Temporary files of a writer that died (an older
				// version's, beside the work folders); the local store's
				// leftovers (S3's are tested in storage/s3).
				tmp := filepath.Join(filepath.Dir(env.Store.WorkDir()), "claim-123")
				dot := env.Store.Location(".tmp-parcels.csv")
				for _, p := range []string{tmp, dot} {
					if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
						t.Fatal(err)
					}
					if err := os.Chtimes(p, now.Add(-30*time.Hour), now.Add(-30*time.Hour)); err != nil {
						t.Fatal(err)
					}
				}
				garbage = append(garbage, ".countysync/tmp/claim-123", ".tmp-parcels.csv")
			}
			slices.Sort(garbage)
			before, err := env.Store.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}

			env.Now = func() time.Time { return now }
			found, err := pipeline.GC(ctx, env, pipeline.GCOptions{OlderThan: 24 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if got := garbageKeys(found); !slices.Equal(got, garbage) {
				t.Fatalf("gc found:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(garbage, "\n  "))
			}
			if after, _ := env.Store.List(ctx, ""); !slices.Equal(after, before) {
				t.Fatalf("a dry run changed storage: %v → %v", before, after)
			}
			found, err = pipeline.GC(ctx, env, pipeline.GCOptions{OlderThan: 24 * time.Hour, Apply: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range found {
				if !g.Deleted {
					t.Errorf("%s not deleted: %v", g.Key, g.Err)
				}
			}
			after, err := env.Store.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			want := slices.DeleteFunc(slices.Clone(before), func(k string) bool { return slices.Contains(garbage, k) })
			if !slices.Equal(after, want) {
				t.Fatalf("after --apply:\n  %s\nwant:\n  %s", strings.Join(after, "\n  "), strings.Join(want, "\n  "))
			}
			for _, a := range first.Datasets[0].Artifacts {
				if !slices.Contains(after, a.Key) {
					t.Errorf("%s of the first job (in its manifest) was deleted", a.Key)
				}
			}
			if found, err := pipeline.GC(ctx, env, pipeline.GCOptions{OlderThan: 24 * time.Hour}); err != nil || len(found) != 0 {
				t.Fatalf("second gc: %v, %v", garbageKeys(found), err)
			}
			// The watermark's snapshot is intact: the next run is
			// incremental and publishes every row.
			fake := now.Add(time.Minute)
			env.Now = func() time.Time { fake = fake.Add(time.Second); return fake }
			third := mustRun(t, env, opts)
			if d := third.Datasets[0]; d.Mode != pipeline.ModeIncremental || d.Records != demo.Parcels {
				t.Fatalf("run after gc: mode %s, %d records", d.Mode, d.Records)
			}
		})
	}
}

func garbageKeys(gs []*pipeline.Garbage) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Key)
	}
	slices.Sort(out)
	return out
}
