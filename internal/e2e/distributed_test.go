package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	_ "github.com/mattn/go-sqlite3"

	"google.golang.org/protobuf/proto"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/queue"
	"github.com/countydatasync/countysync/internal/storage/s3"
	"github.com/countydatasync/countysync/internal/testsvc"
	v1 "github.com/countydatasync/countysync/proto/countysync/v1"
)

func seedSQL(n int) string {
	return fmt.Sprintf(`
CREATE TABLE parcels (id bigint PRIMARY KEY, parcel_no text NOT NULL, owner text, value numeric(14,2),
  area float8, built int, exempt boolean, sold date, updated_at timestamptz NOT NULL, geom geometry(Polygon, 4326));
INSERT INTO parcels SELECT g, 'P-' || g,
  CASE WHEN g %% 7 = 0 THEN NULL WHEN g %% 11 = 0 THEN '' ELSE 'Owner "' || g || '", Inc.' || CASE WHEN g %% 13 = 0 THEN E'\nsecond line' ELSE '' END END,
  (g * 1.37)::numeric(14,2), g * 0.5, CASE WHEN g %% 5 = 0 THEN NULL ELSE 1900 + g %% 120 END, g %% 3 = 0,
  date '2020-01-01' + g %% 1000, timestamptz '2025-04-11 10:00:00.123456+00' + g * interval '1 second',
  ST_SetSRID(ST_Buffer(ST_MakePoint(-77.5 + (g %% 100) * 0.001, 38.8 + (g / 100) * 0.001), 0.0004, 3), 4326)
FROM generate_series(1, %d) g;
CREATE TABLE permits (id int PRIMARY KEY, fee numeric(10,2), note text);
INSERT INTO permits SELECT g, g * 10.05, CASE WHEN g %% 2 = 0 THEN 'ok, fine' END FROM generate_series(1, 300) g;
ANALYZE;`, n)
}

func configText(pg, storage, state string) string {
	s := fmt.Sprintf(`source: {url: %q}
storage: {url: %q}
`, pg, storage)
	if state != "" {
		s += fmt.Sprintf("state: {url: %q, prefix: %q}\n", state, testsvc.RandomName("cs"))
	}
	return s + `datasets:
  - name: parcels
    query: SELECT * FROM parcels
    key_columns: [id]
    geometry: {column: geom}
    incremental: {column: updated_at, lookback: 1m}
  - name: permits
    query: SELECT * FROM permits
    key_columns: [id]
`
}

// stateLine finds the Redis URL and prefix configText wrote.
var stateLine = regexp.MustCompile(`state: \{url: "(redis://[^"]+)", prefix: "([^"]+)"\}`)

// writeConfig writes text as a config file. If it names a Redis state
// store, the prefix's keys and queues are deleted when the test ends
// (after its processes stopped: cleanups run last-in first-out).
func writeConfig(t *testing.T, text string) string {
	if m := stateLine.FindStringSubmatch(text); m != nil {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := testsvc.DeleteRedisPrefix(ctx, m[1], m[2]); err != nil {
				t.Logf("clean Redis prefix %s: %v", m[2], err)
			}
		})
	}
	p := filepath.Join(t.TempDir(), "countysync.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// artifactsOf returns format → key (storage key) of a dataset in a report.
func artifactsOf(t *testing.T, rep map[string]any, dataset string) map[string]map[string]any {
	t.Helper()
	ds := rep["datasets"].(map[string]any)[dataset].(map[string]any)
	out := map[string]map[string]any{}
	for _, a := range ds["artifacts"].([]any) {
		m := a.(map[string]any)
		out[m["format"].(string)] = m
	}
	return out
}

// sqliteRows dumps a table of a SQLite file as sorted text lines.
func sqliteRows(t *testing.T, data []byte, table string) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.sqlite")
	os.WriteFile(p, data, 0o644)
	db, err := sql.Open("sqlite3", "file:"+p+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT * FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rows.Scan(ptrs...)
		out = append(out, fmt.Sprintf("%q", vals))
	}
	sort.Strings(out)
	return out
}

// permitsDesc is a dataset whose query returns its rows against key order:
// both runners render it through a snapshot, in key order.
const permitsDesc = `  - name: permits_desc
    query: SELECT * FROM permits ORDER BY id DESC
    key_columns: [id]
`

// TestDistributedMatchesEmbedded runs the same config embedded and on two
// worker processes with MinIO and Redis: every format holds the same rows,
// for an incremental dataset (snapshot), a full one in key order (streamed
// in the extract task) and a full one against key order (snapshot).
func TestDistributedMatchesEmbedded(t *testing.T) {
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(3000))
	s3url := testsvc.S3(t)
	redisURL := testsvc.Redis(t)

	embDir := t.TempDir()
	embCfg := writeConfig(t, configText(pg, "file://"+embDir, "")+permitsDesc)
	out, errOut, code := run(t, nil, 2*time.Minute, "run", "--config", embCfg)
	if code != 0 {
		t.Fatalf("embedded run: exit %d\n%s", code, errOut)
	}
	emb := report(t, out)

	// storage.keep: 1 on the bucket: the second job's publish deletes the first's files.
	keepText := strings.Replace(configText(pg, s3url, redisURL), "storage: {url: "+strconv.Quote(s3url)+"}",
		"storage: {url: "+strconv.Quote(s3url)+", keep: 1}", 1)
	cfg := writeConfig(t, keepText+permitsDesc)
	start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "2")
	start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "2")
	out, errOut, code = run(t, nil, 3*time.Minute, "enqueue", "--config", cfg, "--wait", "--timeout", "150s")
	if code != 0 {
		t.Fatalf("enqueue --wait: exit %d\n%s\n%s", code, out, errOut)
	}
	dist := report(t, out)
	for _, k := range []string{"job_id", "start_time", "end_time", "success", "stats", "parcels_db_path", "parcels_export_paths", "permits_export_paths"} {
		if _, ok := dist[k]; !ok {
			t.Errorf("distributed report lacks %q", k)
		}
	}
	if dist["success"] != true {
		t.Fatalf("distributed job failed: %v", dist["error"])
	}
	stats := dist["stats"].(map[string]any)
	if stats["parcels_records"] != float64(3000) || stats["permits_records"] != float64(300) {
		t.Errorf("stats = %v", stats)
	}

	st, err := s3.Open(context.Background(), s3url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	manifest := report(t, string(object(t, st, "manifests/"+dist["job_id"].(string)+".json")))
	for _, ds := range []string{"parcels", "permits", "permits_desc"} {
		embArts, distArts := artifactsOf(t, emb, ds), artifactsOf(t, dist, ds)
		manArts := artifactsOf(t, manifest, ds)
		if len(distArts) != len(embArts) || len(distArts) == 0 {
			t.Fatalf("%s: %d distributed artifacts, %d embedded", ds, len(distArts), len(embArts))
		}
		for f, a := range distArts {
			got := object(t, st, a["key"].(string))
			want, err := os.ReadFile(embArts[f]["path"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if f == "sqlite" {
				g, w := sqliteRows(t, got, ds+"_data"), sqliteRows(t, want, ds+"_data")
				if strings.Join(g, "\n") != strings.Join(w, "\n") {
					t.Errorf("%s sqlite: %d rows distributed, %d embedded, contents differ", ds, len(g), len(w))
				}
			} else if !bytes.Equal(got, want) {
				t.Errorf("%s %s: distributed file differs from the embedded one (%d vs %d bytes)", ds, f, len(got), len(want))
			}
			sum := sha256.Sum256(got)
			if manArts[f]["sha256"] != hex.EncodeToString(sum[:]) || manArts[f]["bytes"] != float64(len(got)) {
				t.Errorf("%s %s: manifest says %v/%v bytes, object has %x/%d", ds, f, manArts[f]["sha256"], manArts[f]["bytes"], sum, len(got))
			}
			if latest := object(t, st, a["latest"].(string)); !bytes.Equal(latest, got) {
				t.Errorf("%s %s: latest name does not hold the new file", ds, f)
			}
			if f == "csv" {
				checkKeyOrder(t, ds, got)
			}
		}
	}
	// A second job is incremental and publishes under new names.
	time.Sleep(time.Second)
	out, errOut, code = run(t, nil, 3*time.Minute, "enqueue", "--config", cfg, "--wait", "--timeout", "150s")
	if code != 0 {
		t.Fatalf("second enqueue: exit %d\n%s", code, errOut)
	}
	second := report(t, out)
	for f, a := range artifactsOf(t, second, "permits") {
		keys, err := st.List(context.Background(), "permits_")
		if err != nil {
			t.Fatal(err)
		}
		var mine []string
		for _, k := range keys {
			if strings.HasSuffix(k, "."+f) && !strings.HasPrefix(k, "permits_desc") {
				mine = append(mine, k)
			}
		}
		if len(mine) != 1 || mine[0] != a["key"] {
			t.Errorf("permits %s files after the second job with keep 1: %v, want only %v", f, mine, a["key"])
		}
	}
	pd := second["datasets"].(map[string]any)["parcels"].(map[string]any)
	if pd["mode"] != "incremental" || pd["records"] != float64(3000) {
		t.Errorf("second run of parcels: mode %v, records %v", pd["mode"], pd["records"])
	}
	// status answers for a finished job.
	out, _, code = run(t, nil, time.Minute, "status", "--config", cfg, dist["job_id"].(string))
	if code != 0 || report(t, out)["status"] != "succeeded" {
		t.Errorf("status: exit %d\n%s", code, out)
	}
}

// TestWorkerKilledDuringExport kills a worker with SIGKILL while it renders
// a format: asynq hands the task to another worker, the job completes, no
// artifact is partial and the watermark is the source's newest cursor. A
// duplicated export task afterwards changes nothing.
func TestWorkerKilledDuringExport(t *testing.T) {
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(150000))
	s3url := testsvc.S3(t)
	redisURL := testsvc.Redis(t)
	cfg := writeConfig(t, configText(pg, s3url, redisURL))

	victim := start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "1")
	out, errOut, code := run(t, nil, time.Minute, "enqueue", "--config", cfg, "--dataset", "parcels")
	if code != 0 {
		t.Fatalf("enqueue: %d %s", code, errOut)
	}
	jobID := strings.TrimSpace(out)
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		active, _ := insp.ListActiveTasks(queueName(t, cfg, "export"))
		if len(active) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no export task became active")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	killedAt := time.Now()
	t.Logf("killed the worker during an export of job %s", jobID)
	rescuer := start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "2")
	rep := waitJob(t, cfg, jobID, 6*time.Minute)
	if rep["success"] != true {
		t.Fatalf("job failed after the kill: %v", rep["error"])
	}
	checkRecovery(t, rep, killedAt, "kill during export", rescuer)
	st, err := s3.Open(context.Background(), s3url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	arts := artifactsOf(t, rep, "parcels")
	check := func(when string) {
		t.Helper()
		for f, a := range arts {
			data := object(t, st, a["key"].(string))
			sum := sha256.Sum256(data)
			if a["sha256"] != hex.EncodeToString(sum[:]) {
				t.Errorf("%s: %s artifact does not match its recorded checksum", when, f)
			}
			if !bytes.Equal(object(t, st, a["latest"].(string)), data) {
				t.Errorf("%s: latest %s does not point at the job's file", when, f)
			}
		}
		csv := object(t, st, arts["csv"]["key"].(string))
		if n := bytes.Count(csv, []byte("\nP-")) + bytes.Count(csv, []byte(",P-")); n < 150000 {
			t.Errorf("%s: CSV holds %d parcel numbers, want 150000", when, n)
		}
	}
	check("after the kill")
	out, _, _ = run(t, nil, time.Minute, "watermark", "show", "--config", cfg, "--dataset", "parcels")
	var newest string
	testsvc.PGQueryRow(t, pg, `SELECT to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') FROM parcels`, &newest)
	if !strings.Contains(out, newest) {
		t.Errorf("watermark = %s, want the newest cursor %s", out, newest)
	}

	// A duplicated export task (asynq delivers at least once) is a no-op.
	client := asynq.NewClient(opt)
	defer client.Close()
	dup := asynq.NewTask("export", exportPayload(t, jobID, rep), asynq.Queue(queueName(t, cfg, "export")))
	info, err := client.Enqueue(dup)
	if err != nil {
		t.Fatal(err)
	}
	// The duplicate is done once asynq deleted it, and anything it
	// enqueued has run. (The killed worker's original export task stays
	// active until asynq's own recovery hands it back, a minute or two
	// later; its successor did its work.)
	waitFor(t, time.Minute, "the duplicate export to run", func() bool {
		_, err := insp.GetTaskInfo(queueName(t, cfg, "export"), info.ID)
		p, _ := insp.GetQueueInfo(queueName(t, cfg, "publish"))
		return errors.Is(err, asynq.ErrTaskNotFound) && (p == nil || p.Pending+p.Active+p.Retry == 0)
	})
	check("after a duplicate export")
}

// checkKeyOrder parses a CSV file whose first column is an integer key and
// fails unless the keys ascend.
func checkKeyOrder(t *testing.T, dataset string, data []byte) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("%s: parse CSV: %v", dataset, err)
	}
	prev := int64(-1 << 62)
	for i, r := range recs[1:] {
		id, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil || id <= prev {
			t.Fatalf("%s: CSV row %d has key %q after %d: not in key order", dataset, i+1, r[0], prev)
		}
		prev = id
	}
}

// exportPayload is the payload of the csv export task of parcels in job.
func exportPayload(t *testing.T, jobID string, rep map[string]any) []byte {
	t.Helper()
	b, err := proto.Marshal(&v1.ExportTask{
		JobId: jobID, Dataset: "parcels", Format: "csv",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// queueName is the asynq queue of task type typ in the deployment of the
// config file cfg (queue names carry state.prefix).
func queueName(t *testing.T, cfg, typ string) string {
	t.Helper()
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return queue.QueueName(c.State.Prefix, typ)
}
