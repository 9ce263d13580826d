package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"

	"github.com/countydatasync/countysync/internal/storage/s3"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// chaosSoak bounds the soak: jobs run back to back this long.
const chaosSoak = 75 * time.Second

// TestChaosSoak runs jobs back to back while one loop SIGKILLs a random
// worker every few seconds (and starts a new one) and another updates,
// inserts and hard-deletes source rows. Every job must end and succeed
// (a killed worker's task is taken over), no task may be archived, and
// once the writer stops, a last job's files must hold exactly the table's
// rows, compared with PostgreSQL read directly. It prints its seed; rerun
// one with COUNTYSYNC_CHAOS_SEED.
func TestChaosSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos soak takes about two minutes")
	}
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(20000))
	s3url := testsvc.S3(t)
	redisURL := testsvc.Redis(t)
	seed := chaosSeed()
	t.Logf("chaos seed %d (rerun with COUNTYSYNC_CHAOS_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cfg := writeConfig(t, strings.Replace(configText(pg, s3url, redisURL),
		"incremental: {column: updated_at, lookback: 1m}",
		"incremental: {column: updated_at, lookback: 1m, deletes: keys}", 1))

	var workers []*proc
	for i := 0; i < 3; i++ {
		workers = append(workers, start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "2"))
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	writes := make(chan error, 1)
	writerRng := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	go func() { writes <- chaosWriter(ctx, pg, writerRng) }()

	type result struct {
		job, status, err string
		seconds          float64
	}
	var mu sync.Mutex
	var results []result
	jobsDone := make(chan struct{})
	deadline := time.Now().Add(chaosSoak)
	go func() {
		defer close(jobsDone)
		for time.Now().Before(deadline) {
			began := time.Now()
			rep, err := enqueueWait(cfg, 3*time.Minute)
			r := result{seconds: time.Since(began).Seconds()}
			if err != nil {
				r.err = err.Error()
			} else {
				r.job, _ = rep["job_id"].(string)
				r.status, _ = rep["status"].(string)
				if e, _ := rep["error"].(string); e != "" {
					r.err = e
				}
			}
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}
	}()

	kills := 0
	for {
		pause := time.Duration(3000+rng.IntN(3000)) * time.Millisecond
		select {
		case <-jobsDone:
		case <-time.After(pause):
			if time.Now().Before(deadline) {
				i := rng.IntN(len(workers))
				_ = workers[i].cmd.Process.Kill()
				<-workers[i].done
				workers[i] = start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "2")
				kills++
				continue
			}
			<-jobsDone
		}
		break
	}
	stop()
	if err := <-writes; err != nil {
		t.Fatalf("source writer: %v", err)
	}

	// Every job ended and succeeded.
	for _, r := range results {
		t.Logf("job %s: %s in %.1f s %s", r.job, r.status, r.seconds, r.err)
		if r.status != "succeeded" {
			t.Errorf("job %s ended %q: %s", r.job, r.status, r.err)
		}
	}
	t.Logf("%d jobs, %d workers killed", len(results), kills)
	if len(results) < 2 || kills < 5 {
		t.Fatalf("%d jobs and %d kills: the soak did not run long enough to mean anything", len(results), kills)
	}

	// The writer has stopped: a last job publishes the table as it is.
	rep, err := enqueueWait(cfg, 3*time.Minute)
	if err != nil || rep["status"] != "succeeded" {
		t.Fatalf("last job: %v %v", err, rep["error"])
	}
	st, err := s3.Open(context.Background(), s3url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []struct{ dataset, column, query string }{
		{"parcels", "owner", "SELECT id, coalesce(owner, '') FROM parcels ORDER BY id"},
		{"permits", "note", "SELECT id::bigint, coalesce(note, '') FROM permits ORDER BY 1"},
	} {
		got := csvPairs(t, object(t, st, c.dataset+".csv"), c.column)
		want := pgPairs(t, pg, c.query)
		if len(got) != len(want) {
			t.Errorf("%s: the file has %d rows, the table %d", c.dataset, len(got), len(want))
		}
		for i := 0; i < len(got) && i < len(want); i++ {
			if got[i] != want[i] {
				t.Errorf("%s: row %d is %v in the file, %v in the table", c.dataset, i+1, got[i], want[i])
				break
			}
		}
	}

	// No task was archived: every failure was retried or taken over.
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	for _, typ := range []string{"extract", "export", "publish"} {
		archived, _ := insp.ListArchivedTasks(queueName(t, cfg, typ), asynq.PageSize(100))
		for _, task := range archived {
			t.Errorf("archived %s task %s: %s", typ, task.ID, task.LastErr)
		}
	}
}

// chaosSeed is COUNTYSYNC_CHAOS_SEED or a new seed.
func chaosSeed() uint64 {
	var seed uint64
	if _, err := fmt.Sscan(os.Getenv("COUNTYSYNC_CHAOS_SEED"), &seed); err == nil {
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// chaosWriter changes the source until ctx ends: updates (the cursor set
// to the writing transaction's now()), inserts and hard deletes of
// parcels, updates of permits, a few changes a second.
func chaosWriter(ctx context.Context, pg string, rng *rand.Rand) error {
	conn, err := pgx.Connect(context.Background(), pg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	next := 1_000_000
	for ctx.Err() == nil {
		var q string
		var args []any
		switch op := rng.IntN(10); {
		case op < 5:
			q, args = `UPDATE parcels SET owner = $1, updated_at = now() WHERE id = $2`, []any{fmt.Sprintf("chaos %d", rng.IntN(1e6)), 1 + rng.IntN(20000)}
		case op < 7:
			next++
			q, args = `INSERT INTO parcels (id, parcel_no, owner, updated_at, geom)
				VALUES ($1::bigint, 'N-' || $1::bigint, 'new', now(), ST_SetSRID(ST_Buffer(ST_MakePoint(-77, 38.9), 0.0004, 3), 4326))`, []any{next}
		case op < 9:
			q, args = `DELETE FROM parcels WHERE id = $1`, []any{1 + rng.IntN(20000)}
		default:
			q, args = `UPDATE permits SET note = $1 WHERE id = $2`, []any{fmt.Sprintf("n%d", rng.IntN(1000)), 1 + rng.IntN(300)}
		}
		if _, err := conn.Exec(context.Background(), q, args...); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(50+rng.IntN(200)) * time.Millisecond):
		}
	}
	return nil
}

// enqueueWait runs `enqueue --wait` and returns the job's report. Unlike
// run, it may be called from any goroutine.
func enqueueWait(cfg string, timeout time.Duration) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "enqueue", "--config", cfg, "--wait", "--timeout", timeout.String())
	cmd.SysProcAttr = dieWithTest()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var rep map[string]any
	if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
		return nil, fmt.Errorf("enqueue --wait: %v: no report (%v): %s", err, jerr, tail(errb.String(), 2000))
	}
	return rep, nil
}

// csvPairs reads a CSV file with encoding/csv and returns "id|value" of
// column for every row, sorted by id.
func csvPairs(t *testing.T, data []byte, column string) []string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("parse CSV: %v", err)
	}
	idCol, valCol := -1, -1
	for i, h := range recs[0] {
		switch h {
		case "id":
			idCol = i
		case column:
			valCol = i
		}
	}
	if idCol < 0 || valCol < 0 {
		t.Fatalf("CSV header %v lacks id or %s", recs[0], column)
	}
	type row struct {
		id  int64
		val string
	}
	rows := make([]row, 0, len(recs)-1)
	for _, r := range recs[1:] {
		var id int64
		fmt.Sscan(r[idCol], &id)
		rows = append(rows, row{id, r[valCol]})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].id < rows[j].id })
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%d|%s", r.id, r.val)
	}
	return out
}

// pgPairs runs query (id bigint, value text, ordered by id) on
// PostgreSQL and returns "id|value" per row.
func pgPairs(t *testing.T, pg, query string) []string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		var val string
		if err := rows.Scan(&id, &val); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d|%s", id, val))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
