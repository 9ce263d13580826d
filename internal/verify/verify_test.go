package verify_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/demo"
	"github.com/countydatasync/countysync/internal/open"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/testsvc"
	"github.com/countydatasync/countysync/internal/verify"
)

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// allFormats are every format; permits have no geometry, so no geojson
// or gpkg.
var allFormats = []string{"sqlite", "csv", "json", "geojson", "gpkg"}

// demoJobs runs the demo county twice on the storage at storageURL (local
// when empty), changing a parcel and a permit in between so the two jobs'
// files differ, and returns the env and both reports.
func demoJobs(t *testing.T, storageURL string) (*pipeline.Env, *pipeline.Report, *pipeline.Report, string) {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	cfgPath, err := demo.Write(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if storageURL != "" {
		cfg.Storage.URL = storageURL
		cfg.State.URL = "file://" + filepath.Join(dir, "state.json")
	}
	env, closeEnv, err := open.Env(ctx, cfg, testLogger(t), open.Options{Source: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeEnv)
	run := func() *pipeline.Report {
		rep, err := pipeline.Run(ctx, env, pipeline.Options{Formats: allFormats})
		if err != nil || !rep.Success {
			t.Fatalf("run: %v %+v", err, rep)
		}
		return rep
	}
	first := run()
	db, err := sql.Open("sqlite3", filepath.Join(dir, demo.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`UPDATE parcels SET owner = 'Changed Owner', updated_at = '2099-01-01 00:00:00+00:00' WHERE id = 7;
		UPDATE permits SET description = 'changed' WHERE id = 3`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	second := run()
	if second.JobID == first.JobID {
		t.Fatal("one job id for two runs")
	}
	return env, first, second, dir
}

func eachStore(t *testing.T, test func(t *testing.T, storageURL string)) {
	t.Run("local", func(t *testing.T) { test(t, "") })
	t.Run("minio", func(t *testing.T) { test(t, testsvc.S3(t)) })
}

func artifactOf(t *testing.T, rep *pipeline.Report, dataset, format string) *pipeline.Artifact {
	t.Helper()
	for _, d := range rep.Datasets {
		for _, a := range d.Artifacts {
			if d.Name == dataset && a.Format == format {
				return a
			}
		}
	}
	t.Fatalf("no %s %s in job %s", dataset, format, rep.JobID)
	return nil
}

func readObject(t *testing.T, st storage.Store, key string) []byte {
	t.Helper()
	rc, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// kinds returns the problems as "kind key" lines, sorted.
func kinds(res *verify.Result) []string {
	var out []string
	for _, p := range res.Problems {
		out = append(out, p.Kind+" "+p.Key)
	}
	slices.Sort(out)
	return out
}

// A clean storage verifies with every file and latest name read back and
// the demo's row counts; then a flipped byte, a truncated file, a deleted
// object and a latest name moved to an older file are each reported, and
// nothing else is.
func TestVerifyFindsEveryCorruption(t *testing.T) {
	eachStore(t, func(t *testing.T, storageURL string) {
		env, first, second, _ := demoJobs(t, storageURL)
		ctx := context.Background()
		st := env.Store
		res, err := verify.Verify(ctx, st, testLogger(t), verify.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK() || len(res.Files) != 8 || res.Latest != 8 {
			t.Fatalf("clean storage: %d files, %d latest names, problems %v; want 8, 8, none", len(res.Files), res.Latest, res.Problems)
		}
		for _, f := range res.Files {
			want := int64(demo.Parcels)
			if f.Dataset == "permits" {
				want = demo.Permits
			}
			if f.JobID != second.JobID || f.Rows != want {
				t.Errorf("%s: job %s, %d rows; want job %s, %d rows", f.Key, f.JobID, f.Rows, second.JobID, want)
			}
		}

		// The faults, all on the newest job's files.
		csvA := artifactOf(t, second, "parcels", "csv")
		data := readObject(t, st, csvA.Key)
		i := bytes.IndexByte(data, '\n') + 1 // first data row: "1,…"
		if data[i] != '1' {
			t.Fatalf("unexpected CSV start %q", data[i:i+10])
		}
		data[i] = '9' // same size, same row count, other bytes
		if err := st.PutBytes(ctx, csvA.Key, data); err != nil {
			t.Fatal(err)
		}
		jsonA := artifactOf(t, second, "parcels", "json")
		data = readObject(t, st, jsonA.Key)
		if err := st.PutBytes(ctx, jsonA.Key, data[:len(data)/2]); err != nil {
			t.Fatal(err)
		}
		geoA := artifactOf(t, second, "parcels", "geojson")
		if err := st.Delete(ctx, geoA.Key); err != nil {
			t.Fatal(err)
		}
		old := artifactOf(t, first, "permits", "csv")
		if err := st.Link(ctx, "permits.csv", old.Key); err != nil {
			t.Fatal(err)
		}

		res, err = verify.Verify(ctx, st, testLogger(t), verify.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"latest permits.csv",
			"missing " + geoA.Key,
			"rows " + jsonA.Key,
			"sha256 " + csvA.Key,
			"sha256 " + jsonA.Key,
			"size " + jsonA.Key,
		}
		if storageURL == "" {
			// Local latest names are symlinks: they show the damage of
			// the files they point at.
			want = append(want, "latest parcels.csv", "latest parcels.geojson", "latest parcels.json")
		}
		slices.Sort(want)
		if got := kinds(res); !slices.Equal(got, want) {
			t.Fatalf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		for _, p := range res.Problems {
			t.Log(p.String())
		}

		// The first job's files are whole: verifying that job alone finds
		// nothing (its files are not the newest, so no latest name is
		// compared).
		res, err = verify.Verify(ctx, st, testLogger(t), verify.Options{JobID: first.JobID})
		if err != nil || !res.OK() || len(res.Files) != 8 || res.Latest != 0 {
			t.Fatalf("first job: %v, %+v", err, res)
		}
		// One dataset: only its problems.
		res, err = verify.Verify(ctx, st, testLogger(t), verify.Options{Datasets: []string{"permits"}})
		if err != nil || len(res.Files) != 3 || !slices.Equal(kinds(res), []string{"latest permits.csv"}) {
			t.Fatalf("permits only: %v, %d files, %v", err, len(res.Files), kinds(res))
		}
	})
}

// A row count that disagrees with the manifest is reported even when the
// bytes are what the manifest says: here the manifest is edited to claim
// one row more in every file, and each format's reader counts the truth.
func TestVerifyCountsRowsWithItsOwnReaders(t *testing.T) {
	env, _, second, _ := demoJobs(t, "")
	ctx := context.Background()
	st := env.Store
	key := pipeline.DatasetManifestKey(second.JobID, "parcels")
	doc := readObject(t, st, key)
	// Every artifact's "rows": 250 becomes 251.
	edited := bytes.ReplaceAll(doc, []byte(`"rows": 250`), []byte(`"rows": 251`))
	if n := bytes.Count(doc, []byte(`"rows": 250`)); n != 5 {
		t.Fatalf("%d row counts in the manifest, want 5", n)
	}
	if err := st.PutBytes(ctx, key, edited); err != nil {
		t.Fatal(err)
	}
	// The job's manifest has ended and would win over the dataset's:
	// edit it the same way.
	jk := pipeline.ManifestKey(second.JobID)
	if err := st.PutBytes(ctx, jk, bytes.ReplaceAll(readObject(t, st, jk), []byte(`"rows": 250`), []byte(`"rows": 251`))); err != nil {
		t.Fatal(err)
	}
	res, err := verify.Verify(ctx, st, testLogger(t), verify.Options{Datasets: []string{"parcels"}})
	if err != nil {
		t.Fatal(err)
	}
	var formats []string
	for _, p := range res.Problems {
		if p.Kind != verify.Rows || !strings.Contains(p.Detail, "250 rows, the manifest says 251") {
			t.Errorf("unexpected problem %s", p)
			continue
		}
		formats = append(formats, p.Format)
	}
	slices.Sort(formats)
	if want := []string{"csv", "geojson", "gpkg", "json", "sqlite"}; !slices.Equal(formats, want) {
		t.Fatalf("row problems in %v, want %v", formats, want)
	}
}

// Old manifests (only manifests/<job>.json) are verified too.
func TestVerifyReadsTheOldManifestLayout(t *testing.T) {
	env, _, second, _ := demoJobs(t, "")
	ctx := context.Background()
	keys, err := env.Store.List(ctx, "manifests/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, ds, _ := pipeline.ParseManifestKey(k); ds != "" {
			if err := env.Store.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := verify.Verify(ctx, env.Store, testLogger(t), verify.Options{})
	if err != nil || !res.OK() || len(res.Files) != 8 || res.Files[0].JobID != second.JobID {
		t.Fatalf("old layout: %v %+v", err, res)
	}
	if _, err := os.Stat(env.Store.Location(pipeline.ManifestKey(second.JobID))); err != nil {
		t.Fatal(err)
	}
}
