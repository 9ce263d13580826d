package pipeline_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/pipeline"
)

// storage.keep leaves the newest files of each dataset and format, never
// touches a dataset whose name extends another's, and the latest names
// keep working.
func TestStorageKeepPrunesOldFiles(t *testing.T) {
	env := tableEnv(t, 10, "storage: {url: file://./exports, keep: 2}", map[string]string{
		"t":      "SELECT id, code FROM t ORDER BY id",
		"t_2020": "SELECT id, v FROM t ORDER BY id",
	}, "id")
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	env.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	var stamps []string
	// Both datasets twice, then t_2020 twice, then t once: t's pruning
	// must not take t_2020's files for its own.
	for _, only := range []string{"", "", "t_2020", "t_2020", "t"} {
		opts := pipeline.Options{}
		if only != "" {
			opts.Datasets = []string{only}
		}
		rep := mustRun(t, env, opts)
		stamps = append(stamps, rep.JobID[len("etl_"):])
	}
	files := func(pattern string) []string {
		m, err := filepath.Glob(filepath.Join("exports", pattern))
		if err != nil {
			t.Fatal(err)
		}
		for i := range m {
			m[i] = filepath.Base(m[i])
		}
		slices.Sort(m)
		return m
	}
	for _, ext := range []string{"csv", "sqlite"} {
		if got, want := files("t_2020_*."+ext), []string{"t_2020_" + stamps[2] + "." + ext, "t_2020_" + stamps[3] + "." + ext}; !slices.Equal(got, want) {
			t.Errorf("t_2020 %s files = %v, want the newest two %v", ext, got, want)
		}
		if got, want := files("t_2026*."+ext), []string{"t_" + stamps[1] + "." + ext, "t_" + stamps[4] + "." + ext}; !slices.Equal(got, want) {
			t.Errorf("t %s files = %v, want %v", ext, got, want)
		}
		for _, latest := range []string{"t." + ext, "t_2020." + ext} {
			if _, err := os.Stat(filepath.Join("exports", latest)); err != nil {
				t.Errorf("latest name %s: %v", latest, err)
			}
		}
	}
}
