package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/countydatasync/countysync/internal/testsvc"
)

// TestTwoProducersAtOnce enqueues the same datasets from two processes at
// the same moment: both jobs get their own id, both complete, one after
// the other on each dataset (the lock), and the files hold each row once.
func TestTwoProducersAtOnce(t *testing.T) {
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(2000))
	cfg := writeConfig(t, configText(pg, testsvc.S3(t), testsvc.Redis(t)))
	start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "4")
	var wg sync.WaitGroup
	outs := make([]string, 2)
	codes := make([]int, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], _, codes[i] = run(t, nil, 3*time.Minute, "enqueue", "--config", cfg, "--wait", "--timeout", "60s")
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for i, out := range outs {
		if codes[i] != 0 {
			t.Fatalf("producer %d: exit %d\n%s", i, codes[i], out)
		}
		rep := report(t, out)
		ids[rep["job_id"].(string)] = true
		if rep["stats"].(map[string]any)["parcels_records"] != float64(2000) {
			t.Errorf("producer %d: %v", i, rep["stats"])
		}
	}
	if len(ids) != 2 {
		t.Fatalf("two producers got job ids %v", ids)
	}
}

// TestSourceConnectionKilled terminates the worker's PostgreSQL backends
// while it extracts: the task fails, is retried, and the job completes.
func TestSourceConnectionKilled(t *testing.T) {
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(150000))
	redisURL := testsvc.Redis(t)
	cfg := writeConfig(t, configText(pg, testsvc.S3(t), redisURL))
	jobID := startParcelsJob(t, cfg, redisURL, "extract")
	time.Sleep(200 * time.Millisecond)
	var killed int
	db := strings.TrimPrefix(pg[strings.LastIndexByte(pg, '/')+1:], "")
	if i := strings.IndexByte(db, '?'); i >= 0 {
		db = db[:i]
	}
	testsvc.PGQueryRow(t, pg, fmt.Sprintf(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = '%s' AND pid <> pg_backend_pid() AND backend_type = 'client backend'`, db), &killed)
	t.Logf("terminated %d backends during the extract", killed)
	rep := waitJob(t, cfg, jobID, 4*time.Minute)
	if rep["success"] != true {
		t.Fatalf("job failed after the source connection was killed: %v", rep["error"])
	}
	if n := rep["stats"].(map[string]any)["parcels_records"]; n != float64(150000) {
		t.Errorf("parcels_records = %v", n)
	}
}

// TestLoad enqueues 40 datasets × 4 formats at once on 3 workers: all
// complete, no task is archived, and Redis memory and worker RSS stay
// bounded (printed).
func TestLoad(t *testing.T) {
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(4000))
	redisURL := testsvc.Redis(t)
	var b strings.Builder
	fmt.Fprintf(&b, "source: {url: %q}\nstorage: {url: %q}\nstate: {url: %q, prefix: %q}\ndatasets:\n",
		pg, testsvc.S3(t), redisURL, testsvc.RandomName("load"))
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "  - {name: d%02d, query: \"SELECT * FROM parcels WHERE id %% 40 = %d\", key_columns: [id], geometry: {column: geom}}\n", i, i)
	}
	cfg := writeConfig(t, b.String())
	var workers []*proc
	for i := 0; i < 3; i++ {
		workers = append(workers, start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "4"))
	}
	began := time.Now()
	out, errOut, code := run(t, nil, 5*time.Minute, "enqueue", "--config", cfg, "--wait", "--timeout", "270s")
	if code != 0 {
		t.Fatalf("enqueue --wait: exit %d\n%s\n%s", code, errOut, tail(out, 3000))
	}
	rep := report(t, out)
	if rep["stats"].(map[string]any)["records_processed"] != float64(4000) {
		t.Errorf("records_processed = %v", rep["stats"])
	}
	opt, _ := asynq.ParseRedisURI(redisURL)
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	jobID := rep["job_id"].(string)
	for _, q := range []string{"extract", "export", "publish"} {
		archived, _ := insp.ListArchivedTasks(queueName(t, cfg, q), asynq.PageSize(1000))
		for _, task := range archived {
			if strings.HasPrefix(task.ID, jobID+":") { // tasks of other tests' jobs may share the database
				t.Errorf("queue %s archived task %s: %s", q, task.ID, task.LastErr)
			}
		}
	}
	ropt, _ := goredis.ParseURL(redisURL)
	rc := goredis.NewClient(ropt)
	defer rc.Close()
	info, _ := rc.Info(context.Background(), "memory").Result()
	var rss []string
	for _, w := range workers {
		rss = append(rss, peakRSS(w.cmd.Process.Pid))
	}
	t.Logf("LOAD: 40 datasets x 4 formats = 160 exports on 3 workers in %s; redis %s; worker peak RSS %s",
		time.Since(began).Round(time.Second), field(info, "used_memory_peak_human"), strings.Join(rss, ", "))
}

// waitFor polls cond until it holds or fails the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitJob polls `countysync status` until the job has finished.
func waitJob(t *testing.T, cfg, jobID string, d time.Duration) map[string]any {
	t.Helper()
	var rep map[string]any
	waitFor(t, d, "job "+jobID, func() bool {
		out, _, code := run(t, nil, time.Minute, "status", "--config", cfg, jobID)
		if code != 0 {
			return false
		}
		rep = report(t, out)
		return rep["status"] == "succeeded" || rep["status"] == "failed"
	})
	return rep
}

// peakRSS reads a process's peak resident set size from /proc.
func peakRSS(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(l)[1])
			return fmt.Sprintf("%d MB", kb/1024)
		}
	}
	return "?"
}

func field(info, key string) string {
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return v
		}
	}
	return "?"
}
