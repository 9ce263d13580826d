package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/testsvc"
)

// An embedded run SIGKILLed after one dataset published and while the
// next one reads: the next run ends the killed run's manifest as failed
// (keeping the dataset it published) and removes its temporary files
// (red-team U3 and H3).
func TestEmbeddedRunKilled(t *testing.T) {
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(200))
	exports := filepath.Join(t.TempDir(), "exports")
	text := func(parcels string) string {
		return fmt.Sprintf(`source: {url: %q}
storage: {url: %q}
datasets:
  - name: permits
    query: SELECT * FROM permits
    key_columns: [id]
  - name: parcels
    query: %s
    key_columns: [id]
    geometry: {column: geom}
`, pg, "file://"+exports, parcels)
	}
	slow := writeConfig(t, text("SELECT p.* FROM parcels p CROSS JOIN (SELECT pg_sleep(120)) s"))
	fast := writeConfig(t, text("SELECT * FROM parcels"))

	p := start(t, nil, "run", "--config", slow)
	var killedJob string
	deadline := time.Now().Add(60 * time.Second)
	for killedJob == "" {
		if time.Now().After(deadline) {
			t.Fatalf("permits never published:\n%s", p.out)
		}
		m, _ := filepath.Glob(filepath.Join(exports, "manifests", "etl_*", "permits.json"))
		if len(m) == 1 {
			killedJob = filepath.Base(filepath.Dir(m[0]))
			break
		}
		select {
		case <-p.done:
			t.Fatalf("run ended early:\n%s", p.out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	work, _ := filepath.Glob(filepath.Join(exports, ".countysync", "tmp", "run-*"))
	if len(work) != 1 {
		t.Fatalf("work folders of the running run: %v", work)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	manifest := filepath.Join(exports, "manifests", killedJob+".json")
	if m := readJSON(t, manifest); m["status"] != "running" {
		t.Fatalf("before the next run the killed run's manifest says %v", m["status"])
	}

	out, errOut, code := run(t, nil, 2*time.Minute, "run", "--config", fast)
	if code != 0 {
		t.Fatalf("next run: exit %d\n%s", code, errOut)
	}
	if rep := report(t, out); rep["job_id"] == killedJob {
		t.Fatal("the next run reused the killed run's id")
	}
	m := readJSON(t, manifest)
	if m["status"] != "failed" || m["success"] != false || !strings.Contains(fmt.Sprint(m["error"]), "stopped before it finished") {
		t.Errorf("killed run's manifest: status %v, success %v, error %v", m["status"], m["success"], m["error"])
	}
	ds, _ := m["datasets"].(map[string]any)
	if _, ok := ds["permits"]; !ok || len(ds) != 1 {
		t.Errorf("killed run's manifest lists %v, want the dataset it published (permits)", ds)
	}
	left, _ := os.ReadDir(filepath.Join(exports, ".countysync", "tmp"))
	if len(left) != 0 {
		names := []string{}
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf(".countysync/tmp after the next run: %v", names)
	}
	if _, err := os.Lstat(work[0]); !os.IsNotExist(err) {
		t.Errorf("the killed run's work folder %s is still there", work[0])
	}
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}
