package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/testsvc"
)

// TestWorkerWaitsForItsServices starts a worker before its object store
// is up: it stays alive, says what it waits for, answers /healthz but not
// /readyz; once MinIO starts it becomes ready and runs a job whose files
// hold every row.
func TestWorkerWaitsForItsServices(t *testing.T) {
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(1000))
	minio, s3url := privateMinIO(t)
	minio.kill()
	cfg := writeConfig(t, configText(pg, s3url, testsvc.Redis(t)))
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	w := start(t, nil, "worker", "--config", cfg, "--listen", addr)
	get := func(path string) int {
		r, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		r.Body.Close()
		return r.StatusCode
	}
	waitFor(t, 30*time.Second, "the worker to say it waits for the storage", func() bool {
		return strings.Contains(w.out.String(), "waiting for storage to answer")
	})
	if h, r := get("/healthz"), get("/readyz"); h != 200 || r != http.StatusServiceUnavailable {
		t.Fatalf("while waiting: /healthz %d, /readyz %d; want 200 and 503", h, r)
	}
	select {
	case <-w.done:
		t.Fatalf("the worker exited while its storage was down:\n%s", w.out.String())
	default:
	}
	minio.start()
	waitFor(t, 90*time.Second, "/readyz once MinIO is up", func() bool { return get("/readyz") == 200 })
	out, errOut, code := run(t, nil, 2*time.Minute, "enqueue", "--config", cfg, "--dataset", "parcels", "--wait", "--timeout", "100s")
	if code != 0 {
		t.Fatalf("job after MinIO came up: exit %d\n%s\n%s", code, out, errOut)
	}
	checkPublished(t, s3url, report(t, out), "parcels", 1000)
}

// TestWaitEndsWhenATaskIsDeleted: `enqueue --wait` with no worker says
// so; with a worker that serves only the publish queue (so the extract
// task stays queued) it returns exit 1 once the extract task is deleted,
// as asynqmon's Delete does, with the reason in the report.
func TestWaitEndsWhenATaskIsDeleted(t *testing.T) {
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(100))
	redisURL := testsvc.Redis(t)
	cfg := writeConfig(t, configText(pg, testsvc.S3(t), redisURL))

	out, errOut, code := run(t, nil, time.Minute, "enqueue", "--config", cfg, "--dataset", "permits", "--wait", "--timeout", "3s")
	if code != 1 || !strings.Contains(errOut, "no worker is alive") {
		t.Fatalf("--wait without workers: exit %d, stderr:\n%s", code, errOut)
	}
	_ = out

	start(t, nil, "worker", "--config", cfg, "--listen", "off", "--queues", "publish=1")
	opt, _ := asynq.ParseRedisURI(redisURL)
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	waiter := start(t, nil, "enqueue", "--config", cfg, "--dataset", "parcels", "--wait", "--timeout", "2m")
	q := queueName(t, cfg, "extract")
	var id string
	waitFor(t, time.Minute, "the parcels extract task", func() bool {
		tasks, _ := insp.ListPendingTasks(q)
		for _, task := range tasks {
			if strings.HasSuffix(task.ID, ":extract:parcels") {
				id = task.ID
			}
		}
		return id != ""
	})
	if err := insp.DeleteTask(q, id); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	select {
	case <-waiter.done:
	case <-time.After(time.Minute):
		t.Fatal("enqueue --wait did not return after its task was deleted")
	}
	t.Logf("--wait returned %s after the task was deleted", time.Since(deleted).Round(100*time.Millisecond))
	if c := waiter.cmd.ProcessState.ExitCode(); c != 1 {
		t.Errorf("enqueue --wait exit %d, want 1", c)
	}
	if o := waiter.out.String(); !strings.Contains(o, "its task was deleted or lost") || !strings.Contains(o, `"status": "failed"`) {
		t.Errorf("--wait output lacks the reason:\n%s", tail(o, 3000))
	}
}
