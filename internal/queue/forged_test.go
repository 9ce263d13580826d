package queue

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/storage/local"
	v1 "github.com/countydatasync/countysync/proto/countysync/v1"
)

// filesOf returns every file under the export directory whose path (from
// the root) contains word, with its sha256: read from the file system,
// not through the store.
func filesOf(t *testing.T, root, word string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p[len(root):], word) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[p[len(root):]] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Forged tasks never touch another dataset's objects (red-team S5): the
// red-team's publish carried another dataset's snapshot key and deleted
// it. Payloads now carry a job id, a dataset and a format, and keys come
// from the job's record. Here a job of permits runs beside forged tasks:
// a publish carrying parcels' snapshot key in the field that once was
// snapshot_key, a publish and an export naming parcels in a job without
// it, tasks of parcels' own finished job, an export of a format the job
// does not have, and a job that does not exist. Every file of parcels,
// its snapshot and its watermark stay as they were.
func TestForgedTasksTouchNoOtherDatasetsObjects(t *testing.T) {
	env := demoEnv(t, "")
	fake := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	env.Now = func() time.Time { return fake.Add(time.Duration(clock.Add(1)) * time.Second) }
	root := env.Store.(*local.Store).Root()
	ctx := context.Background()

	q := newFakeQueue(t, &Handlers{Env: env})
	first := runJob(t, q, pipeline.Options{Datasets: []string{"parcels"}})
	if !first.Success {
		t.Fatalf("parcels job: %s", first.Error)
	}
	wm, err := env.State.Get(ctx, "parcels")
	if err != nil || wm == nil || wm.Snapshot == "" {
		t.Fatalf("parcels watermark: %+v, %v", wm, err)
	}
	before := filesOf(t, root, "parcels")
	if len(before) < 5 { // 4 formats, 4 latest names, the snapshot
		t.Fatalf("parcels files: %v", before)
	}

	id, err := Enqueue(ctx, env, q, pipeline.Options{Datasets: []string{"permits"}})
	if err != nil {
		t.Fatal(err)
	}
	tasks := q.h.tasks()
	withSnapshotKey := func(msg proto.Message) []byte {
		b, _ := proto.Marshal(msg)
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		return protowire.AppendString(b, wm.Snapshot)
	}
	forged := []*asynq.Task{
		asynq.NewTask(TypePublish, withSnapshotKey(&v1.PublishTask{JobId: id, Dataset: "permits"})),
		asynq.NewTask(TypeExport, withSnapshotKey(&v1.ExportTask{JobId: id, Dataset: "permits", Format: "csv"})),
		tasks.publish(id, "parcels"),
		tasks.export(id, "parcels", "csv"),
		tasks.extract(id, "parcels"),
		tasks.publish(first.JobID, "parcels"),
		tasks.export(first.JobID, "parcels", "csv"),
		tasks.extract(first.JobID, "parcels"),
		tasks.export(id, "permits", "../../parcels"),
		tasks.publish("etl_20990101_000000", "parcels"),
	}
	// They run once permits is due to publish, before its own publish task,
	// as a worker would run tasks planted in Redis (the red-team's forged
	// publish took the real one's deterministic id).
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeExtract, q.h.HandleExtract)
	mux.HandleFunc(TypeExport, q.h.HandleExport)
	mux.HandleFunc(TypePublish, q.h.HandlePublish)
	planted := false
	q.before = func(task *asynq.Task) {
		if task.Type() != TypePublish || planted {
			return
		}
		planted = true
		for _, f := range forged {
			q.run(ctx, mux, f)
		}
	}
	q.drain(ctx)
	if !planted {
		t.Fatal("the forged tasks never ran")
	}
	refused := 0
	for _, err := range q.failures {
		if strings.Contains(err.Error(), "has no dataset parcels") && errors.Is(err, asynq.SkipRetry) {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("%d of the 3 tasks naming parcels in the permits job refused for good: %v", refused, q.failures)
	}

	rep, done, err := pipeline.ReadReport(ctx, env.Jobs, id)
	if err != nil || !done || !rep.Success {
		t.Fatalf("the permits job beside the forged tasks: done %v, %v, %+v", done, err, rep)
	}
	after := filesOf(t, root, "parcels")
	for k, sum := range before {
		if got, ok := after[k]; !ok {
			t.Errorf("%s was deleted", k)
		} else if got != sum {
			t.Errorf("%s was changed", k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s was written", k)
		}
	}
	if now, err := env.State.Get(ctx, "parcels"); err != nil || now.JobID != wm.JobID || now.Snapshot != wm.Snapshot {
		t.Errorf("parcels watermark moved: %+v, %v", now, err)
	}
}
