package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/storage/s3"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// checkPublished verifies every artifact of dataset in rep against the
// bytes in storage: checksum as recorded, latest name holding the same.
func checkPublished(t *testing.T, s3url string, rep map[string]any, dataset string, rows int) {
	t.Helper()
	st, err := s3.Open(context.Background(), s3url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for f, a := range artifactsOf(t, rep, dataset) {
		data := object(t, st, a["key"].(string))
		sum := sha256.Sum256(data)
		if a["sha256"] != hex.EncodeToString(sum[:]) {
			t.Errorf("%s %s: object does not match its recorded checksum (partial?)", dataset, f)
		}
		if !bytes.Equal(object(t, st, a["latest"].(string)), data) {
			t.Errorf("%s %s: latest name does not hold the job's file", dataset, f)
		}
		if f == "csv" {
			if n := bytes.Count(data, []byte("\n")) - 1 - bytes.Count(data, []byte("\nsecond line")); n != rows {
				t.Errorf("%s csv: %d rows, want %d", dataset, n, rows)
			}
		}
	}
}

// activeWait waits until a task of queue is running.
// startParcelsJob starts a worker on cfg, enqueues the parcels dataset and
// waits until a task of queue is active; it returns the job id.
func startParcelsJob(t *testing.T, cfg, redisURL, queue string) string {
	t.Helper()
	start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "2")
	out, errOut, code := run(t, nil, time.Minute, "enqueue", "--config", cfg, "--dataset", "parcels")
	if code != 0 {
		t.Fatalf("enqueue: exit %d: %s", code, errOut)
	}
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	activeWait(t, insp, queueName(t, cfg, queue))
	return strings.TrimSpace(out)
}

func activeWait(t *testing.T, insp *asynq.Inspector, queue string) {
	t.Helper()
	waitFor(t, 2*time.Minute, "an active "+queue+" task", func() bool {
		a, _ := insp.ListActiveTasks(queue)
		return len(a) > 0
	})
}

// TestWorkerKilledDuringExtractAndPublish kills a worker with SIGKILL in
// the middle of an extract and, in a second job, of a publish: the job
// completes on another worker with whole files and the right watermark.
func TestWorkerKilledDuringExtractAndPublish(t *testing.T) {
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(150000))
	s3url := testsvc.S3(t)
	redisURL := testsvc.Redis(t)
	cfg := writeConfig(t, configText(pg, s3url, redisURL))
	opt, _ := asynq.ParseRedisURI(redisURL)
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	for _, queue := range []string{"extract", "publish"} {
		victim := start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "2")
		out, errOut, code := run(t, nil, time.Minute, "enqueue", "--config", cfg, "--dataset", "parcels")
		if code != 0 {
			t.Fatalf("enqueue: %s", errOut)
		}
		jobID := strings.TrimSpace(out)
		activeWait(t, insp, queueName(t, cfg, queue))
		victim.cmd.Process.Kill()
		<-victim.done
		killedAt := time.Now()
		t.Logf("killed the worker during %s of %s", queue, jobID)
		rescuer := start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "2")
		rep := waitJob(t, cfg, jobID, 6*time.Minute)
		if rep["success"] != true {
			t.Fatalf("job failed after a kill during %s: %v", queue, rep["error"])
		}
		checkRecovery(t, rep, killedAt, "kill during "+queue, rescuer)
		checkPublished(t, s3url, rep, "parcels", 150000)
		out, _, _ = run(t, nil, time.Minute, "watermark", "show", "--config", cfg, "--dataset", "parcels")
		var newest string
		testsvc.PGQueryRow(t, pg, `SELECT to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') FROM parcels`, &newest)
		if !strings.Contains(out, newest) {
			t.Errorf("after a kill during %s: watermark %s, want %s", queue, out, newest)
		}
		rescuer.cmd.Process.Kill()
		<-rescuer.done
		time.Sleep(time.Second) // next job id
	}
}

// TestRedisRestartedMidJob restarts a Redis with an append-only file while
// exports run: the queued tasks and records survive, the workers
// reconnect, and the job completes.
func TestRedisRestartedMidJob(t *testing.T) {
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(150000))
	s3url := testsvc.S3(t)
	redis, redisURL := privateRedis(t, true)
	cfg := writeConfig(t, configText(pg, s3url, redisURL))
	start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "2")
	out, errOut, code := run(t, nil, time.Minute, "enqueue", "--config", cfg, "--dataset", "parcels")
	if code != 0 {
		t.Fatalf("enqueue: %s", errOut)
	}
	jobID := strings.TrimSpace(out)
	opt, _ := asynq.ParseRedisURI(redisURL)
	insp := asynq.NewInspector(opt)
	activeWait(t, insp, queueName(t, cfg, "export"))
	insp.Close()
	redis.kill()
	time.Sleep(2 * time.Second)
	redis.start()
	t.Logf("restarted Redis during the exports of %s", jobID)
	rep := waitJob(t, cfg, jobID, 6*time.Minute)
	if rep["success"] != true {
		t.Fatalf("job failed after the Redis restart: %v", rep["error"])
	}
	checkPublished(t, s3url, rep, "parcels", 150000)
}

// TestRedisLostEverything restarts a Redis without persistence between
// two jobs: the watermark is gone, and the next run restores it from the
// newest manifest (incremental, not a full re-read) and publishes the
// same rows.
func TestRedisLostEverything(t *testing.T) {
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(5000))
	s3url := testsvc.S3(t)
	redis, redisURL := privateRedis(t, false)
	cfg := writeConfig(t, configText(pg, s3url, redisURL))
	w := start(t, nil, "worker", "--config", cfg, "--listen", "off")
	out, _, code := run(t, nil, 2*time.Minute, "enqueue", "--config", cfg, "--dataset", "parcels", "--wait", "--timeout", "100s")
	if code != 0 {
		t.Fatalf("first job: %s", out)
	}
	w.cmd.Process.Kill()
	<-w.done
	redis.kill()
	redis.start()
	out, _, _ = run(t, nil, time.Minute, "watermark", "show", "--config", cfg, "--dataset", "parcels")
	if !strings.Contains(out, `"parcels": null`) {
		t.Fatalf("Redis kept the watermark: %s", out)
	}
	testsvc.PGExec(t, pg, `UPDATE parcels SET owner = 'changed after the loss', updated_at = updated_at + interval '1 day' WHERE id <= 10`)
	w = start(t, nil, "worker", "--config", cfg, "--listen", "off")
	out, errOut, code := run(t, nil, 2*time.Minute, "enqueue", "--config", cfg, "--dataset", "parcels", "--wait", "--timeout", "100s")
	if code != 0 {
		t.Fatalf("second job: %s %s", out, errOut)
	}
	rep := report(t, out)
	ds := rep["datasets"].(map[string]any)["parcels"].(map[string]any)
	if ds["mode"] != "incremental" || ds["records"] != float64(5000) || ds["updated"] != float64(10) {
		t.Errorf("after losing Redis: mode %v, records %v, updated %v (want incremental, 5000, 10)", ds["mode"], ds["records"], ds["updated"])
	}
	if !strings.Contains(w.out.String(), "restored from the newest manifest") {
		t.Error("the worker did not say it restored the watermark")
	}
	checkPublished(t, s3url, rep, "parcels", 5000)
}

// minioStoppedDuring seeds 150,000 parcels, starts a job of them on a
// private MinIO and stops MinIO while a task of queue runs. It returns the
// stopped MinIO (to start again), its storage URL, the config and the job.
func minioStoppedDuring(t *testing.T, queue string) (*daemon, string, string, string) {
	t.Helper()
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(150000))
	minio, s3url := privateMinIO(t)
	redisURL := testsvc.Redis(t)
	cfg := writeConfig(t, configText(pg, s3url, redisURL))
	jobID := startParcelsJob(t, cfg, redisURL, queue)
	minio.kill()
	t.Logf("stopped MinIO during a task of %s in job %s", queue, jobID)
	return minio, s3url, cfg, jobID
}

// TestMinIOStoppedDuringExports stops the object store for 30 seconds
// while exports run: uploads fail and are retried with backoff, and the
// job completes once it is back.
func TestMinIOStoppedDuringExports(t *testing.T) {
	minio, s3url, cfg, jobID := minioStoppedDuring(t, "export")
	time.Sleep(30 * time.Second)
	minio.start()
	rep := waitJob(t, cfg, jobID, 6*time.Minute)
	if rep["success"] != true {
		t.Fatalf("job failed after MinIO came back: %v", rep["error"])
	}
	checkPublished(t, s3url, rep, "parcels", 150000)
}

// TestMinIOGoneForGood stops the bucket during an extraction and never
// brings it back: the extract task exhausts its retries, the dataset and
// the job are recorded as failed (even though the job's final manifest
// cannot be written either), and `status` answers failed instead of
// running for ever.
func TestMinIOGoneForGood(t *testing.T) {
	minio, _, cfg, jobID := minioStoppedDuring(t, "extract")
	rep := waitJob(t, cfg, jobID, 4*time.Minute)
	ds := rep["datasets"].(map[string]any)["parcels"].(map[string]any)
	if rep["success"] != false || rep["status"] != "failed" || ds["success"] != false || ds["error"] == "" {
		t.Fatalf("after losing the bucket: success %v, status %v, dataset %v", rep["success"], rep["status"], ds)
	}
	minio.start() // the job is over; the CLI needs the bucket to look at the watermark
	out, errOut, code := run(t, nil, time.Minute, "watermark", "show", "--config", cfg, "--dataset", "parcels")
	if code != 0 {
		t.Fatalf("watermark show: exit %d: %s", code, errOut)
	}
	if wm := report(t, out)["parcels"]; wm != nil {
		t.Errorf("the watermark moved although nothing was published: %v", wm)
	}
}

// recoveryBound is how long after a worker was killed its job may take to
// complete before a kill test fails. The design bound is 15 s (median);
// the tests allow four times that so that a loaded machine does not make
// them flaky, and log the time for RELIABILITY.md.
const recoveryBound = 60 * time.Second

// checkRecovery logs how long after killedAt the rescuing worker took the
// killed worker's task over (the time of its log line) and the job ended
// (its end_time), and fails the test past recoveryBound.
func checkRecovery(t *testing.T, rep map[string]any, killedAt time.Time, what string, rescuer *proc) {
	t.Helper()
	end, err := time.Parse(time.RFC3339Nano, fmt.Sprint(rep["end_time"]))
	if err != nil {
		t.Fatalf("report has no end_time: %v", rep["end_time"])
	}
	took := end.Sub(killedAt).Round(100 * time.Millisecond)
	over := "no take-over logged"
	for _, line := range strings.Split(rescuer.out.String(), "\n") {
		if !strings.Contains(line, "took over a task") {
			continue
		}
		if ts, _, ok := strings.Cut(strings.TrimPrefix(line, "time="), " "); ok {
			if at, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				over = fmt.Sprintf("taken over %s", at.Sub(killedAt).Round(100*time.Millisecond))
			}
		}
		break
	}
	t.Logf("RECOVERY %s: %s and the job completed %s after the kill", what, over, took)
	if took > recoveryBound {
		t.Errorf("%s: the job completed %s after the kill, more than %s", what, took, recoveryBound)
	}
}
