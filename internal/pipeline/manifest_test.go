package pipeline_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/state/memory"
	"github.com/countydatasync/countysync/internal/storage"
)

// jobManifestFailingStore fails every write of a job's manifest
// (manifests/<job>.json), not of the datasets' manifests: a job whose end
// never comes.
type jobManifestFailingStore struct{ storage.Store }

func (s jobManifestFailingStore) PutBytes(ctx context.Context, key string, data []byte) error {
	if _, dataset, ok := pipeline.ParseManifestKey(key); ok && dataset == "" {
		return errInjected
	}
	return s.Store.PutBytes(ctx, key, data)
}

// Two datasets publishing at once each leave their own manifest, even when
// the job never ends (its manifest cannot be written); the manifests agree
// with the files (sha256 and rows computed here) and with the watermark,
// and a lost state store is restored from them.
func TestConcurrentPublishesKeepEveryManifestEntry(t *testing.T) {
	env := stepEnv(t, memory.NewJobs())
	ctx := context.Background()
	datasets := []string{"parcels", "permits"}
	job, _, err := pipeline.Start(ctx, env, pipeline.Options{Datasets: datasets})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range datasets {
		next, err := pipeline.Extract(ctx, env, job, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range next.Render {
			if _, err := pipeline.Render(ctx, env, job, d, f); err != nil {
				t.Fatal(err)
			}
		}
	}
	store := env.Store
	env.Store = jobManifestFailingStore{store}
	var wg sync.WaitGroup
	errs := make([]error, len(datasets))
	for i, d := range datasets {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = pipeline.Publish(ctx, env, job, d) }()
	}
	wg.Wait()
	env.Store = store
	// A publish that found every result recorded could not end the job:
	// an error to retry. Both may find that (each records its result
	// before it looks), so one or two errors, all about the job's manifest.
	if n := countErrors(errs); n < 1 {
		t.Fatalf("publish errors %v; want the job's manifest's", errs)
	}
	for _, err := range errs {
		if err != nil && !strings.Contains(err.Error(), "write the final manifest") {
			t.Fatalf("publish error %v; want only the job's manifest's", err)
		}
	}
	ms, err := pipeline.ReadManifests(ctx, store, testLogger(t), true)
	if err != nil || len(ms) != 1 || ms[0].JobID != job.ID {
		t.Fatalf("manifests: %+v, %v", ms, err)
	}
	want := map[string]int64{"parcels": demo.Parcels, "permits": demo.Permits}
	formats := map[string]int{"parcels": 4, "permits": 3} // permits has no geometry
	for _, d := range datasets {
		res := ms[0].Datasets[d]
		if res == nil || !res.Success || len(res.Artifacts) != formats[d] {
			t.Fatalf("%s in the manifests: %+v", d, res)
		}
		for _, a := range res.Artifacts {
			size, sum := sha256File(t, a.Path)
			if a.Rows != want[d] || a.Bytes != size || a.SHA256 != sum {
				t.Errorf("%s %s: manifest rows %d bytes %d sha256 %s; file has %d rows, %d bytes, sha256 %s",
					d, a.Format, a.Rows, a.Bytes, a.SHA256, want[d], size, sum)
			}
		}
	}
	wm, err := env.State.Get(ctx, "parcels")
	if err != nil || wm == nil || wm.JobID != job.ID || *ms[0].Datasets["parcels"].WatermarkAfter != wm.Cursor {
		t.Fatalf("watermark %+v, %v; manifest says %v", wm, err, ms[0].Datasets["parcels"].WatermarkAfter)
	}
	// The state store forgets: the next run restores the watermark from
	// the dataset's manifest and stays incremental.
	if err := os.Remove(stateFile(t, env)); err != nil {
		t.Fatal(err)
	}
	rep := mustRun(t, env, pipeline.Options{Datasets: []string{"parcels"}})
	if d := rep.Datasets[0]; d.Mode != pipeline.ModeIncremental || d.WatermarkBefore == nil || *d.WatermarkBefore != wm.Cursor || d.Records != demo.Parcels {
		t.Fatalf("after losing the state: mode %s, watermark before %v (want %v), %d records", d.Mode, d.WatermarkBefore, wm.Cursor, d.Records)
	}
}

// Manifests written before datasets had their own (only
// manifests/<job>.json) are still read: a lost watermark is restored from
// one.
func TestWatermarkRestoredFromAJobManifestOfTheOldLayout(t *testing.T) {
	env, _ := demoEnv(t)
	ctx := context.Background()
	first := mustRun(t, env, pipeline.Options{Datasets: []string{"parcels"}})
	// What an older version left: no manifests/<job>/ files.
	keys, err := env.Store.List(ctx, "manifests/"+first.JobID+"/")
	if err != nil || len(keys) != 1 {
		t.Fatalf("dataset manifests of the first job: %v, %v", keys, err)
	}
	if err := env.Store.Delete(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(stateFile(t, env)); err != nil {
		t.Fatal(err)
	}
	second := mustRun(t, env, pipeline.Options{Datasets: []string{"parcels"}})
	d := second.Datasets[0]
	if d.Mode != pipeline.ModeIncremental || d.WatermarkBefore == nil || *d.WatermarkBefore != *first.Datasets[0].WatermarkAfter {
		t.Fatalf("restored from the job's manifest: mode %s, watermark before %v, want %v", d.Mode, d.WatermarkBefore, first.Datasets[0].WatermarkAfter)
	}
}

func countErrors(errs []error) int {
	n := 0
	for _, err := range errs {
		if err != nil {
			n++
		}
	}
	return n
}

// sha256File returns the size and sha256 of the file at path.
func sha256File(t *testing.T, path string) (int64, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return int64(len(data)), hex.EncodeToString(sum[:])
}

// stateFile is the default state file of env's local storage.
func stateFile(t *testing.T, env *pipeline.Env) string {
	t.Helper()
	root := env.Store.Location(".countysync")
	if !strings.HasPrefix(root, "/") {
		t.Fatalf("not local storage: %s", root)
	}
	return filepath.Join(root, "state.json")
}
