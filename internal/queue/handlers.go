package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"google.golang.org/protobuf/proto"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/storage"
	v1 "github.com/countydatasync/countysync/proto/countysync/v1"
)

// Locker is the dataset lock the handlers share across tasks of a job
// (implemented by state/redis.Store): Acquire is re-entrant for the same
// owner, Hold stops renewing without releasing (the next task of the job
// acquires it again), ReleaseLock ends it.
type Locker interface {
	Hold(ctx context.Context, dataset, owner string, wait time.Duration) (release func(keep bool), err error)
	ReleaseLock(ctx context.Context, dataset, owner string) error
}

// Handlers runs the tasks of a worker.
type Handlers struct {
	Env     *pipeline.Env
	Client  *asynq.Client
	Records Records
	Locks   Locker
	// Snapshots caches snapshots on this worker (nil: download every time).
	Snapshots *snapCache
}

func (h *Handlers) dataset(name string) (*config.Dataset, error) {
	d := h.Env.Config.Dataset(name)
	if d == nil {
		return nil, fmt.Errorf("dataset %s is not in this worker's config (%s): %w", name, h.Env.Config.Path, asynq.SkipRetry)
	}
	return d, nil
}

// workPath returns a private temporary path for a task's snapshot copy.
func (h *Handlers) workPath(job, dataset, suffix string) string {
	return filepath.Join(h.Env.Store.WorkDir(), fmt.Sprintf("%s-%s-%d%s", job, dataset, time.Now().UnixNano(), suffix))
}

// payload is what every task message carries.
type payload interface {
	proto.Message
	GetJobId() string
	GetStamp() string
	GetDataset() string
}

// payloadFor returns an empty message of the task's type.
func payloadFor(t *asynq.Task) payload {
	switch t.Type() {
	case TypeExtract:
		return &v1.ExtractTask{}
	case TypeExport:
		return &v1.ExportTask{}
	case TypePublish:
		return &v1.PublishTask{}
	}
	return nil
}

// open decodes a task's payload into p and finds its job and dataset.
func (h *Handlers) open(t *asynq.Task, p payload) (pipeline.Job, *config.Dataset, error) {
	if err := decode(t, p); err != nil {
		return pipeline.Job{}, nil, err
	}
	job, err := jobOf(p.GetJobId(), p.GetStamp())
	if err != nil {
		return pipeline.Job{}, nil, err
	}
	d, err := h.dataset(p.GetDataset())
	return job, d, err
}

// enqueue adds a task, treating "already there" as success: the id is
// deterministic, so the task is the same.
func (h *Handlers) enqueue(ctx context.Context, t *asynq.Task) error {
	_, err := h.Client.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	return err
}

// HandleExtract reads one dataset of a job into a snapshot in object
// storage and fans out one export task per format.
func (h *Handlers) HandleExtract(ctx context.Context, t *asynq.Task) error {
	var p v1.ExtractTask
	job, d, err := h.open(t, &p)
	if err != nil {
		return err
	}
	opts := optionsFromProto(p.GetOptions())
	formats := pipeline.FormatsFor(d, opts)
	if len(formats) == 0 {
		return fmt.Errorf("dataset %s: no formats to write: %w", d.Name, asynq.SkipRetry)
	}
	if opts.Incremental && d.Incremental == nil {
		return fmt.Errorf("dataset %s: --incremental given but the dataset has no incremental: section: %w", d.Name, asynq.SkipRetry)
	}
	log := h.Env.Log.With("job_id", job.ID, "dataset", d.Name, "task", TypeExtract)
	snapKey := pipeline.SnapshotKey(d.Name, job.ID)
	ext, docs, err := h.Records.extraction(ctx, job.ID, d.Name)
	if err != nil {
		return err
	}
	done := int64(len(docs))
	if ext == nil {
		// A second run of the same dataset waits for the first: the
		// task fails with ErrLocked and asynq retries it with backoff.
		release, err := h.Locks.Hold(ctx, d.Name, job.ID, h.Env.Config.State.LockWait.D())
		if err != nil {
			return err
		}
		keep := false
		defer func() { release(keep) }()
		var records map[string][]byte
		if ext, records, err = h.extract(ctx, job, d, opts, formats, snapKey); err != nil {
			return err
		}
		// The extraction and any artifacts rendered while extracting are
		// recorded together: a retry finds all of them or none.
		records[extractionMember], _ = json.Marshal(ext)
		if done, err = h.Records.Store.PutArtifacts(ctx, job.ID, d.Name, records); err != nil {
			return err
		}
		keep = true
		log.Info("extracted", "records", ext.Records, "rows_read", ext.RowsRead)
	}
	if done == fanIn(formats) { // rendered while extracting
		return h.enqueuePublish(ctx, job, d.Name, snapKey)
	}
	for _, f := range formats {
		task, err := newTask(TypeExport, exportID(job.ID, d.Name, f), &v1.ExportTask{
			JobId: job.ID, Dataset: d.Name, Format: f, SnapshotKey: snapKey, Formats: formats,
			Options: p.GetOptions(), Stamp: job.Stamp,
		}, exportTimeout)
		if err != nil {
			return err
		}
		if err := h.enqueue(ctx, task); err != nil {
			return fmt.Errorf("enqueue export %s of %s: %w", f, d.Name, err)
		}
	}
	return nil
}

// extract reads the dataset and returns its extraction with the fan-in
// records of the artifacts it rendered. A full run of a dataset without
// incremental streams into every format at once (pipeline.Stream, as the
// embedded runner does) and renders every artifact: its export tasks have
// nothing left to do, and no snapshot is stored. Otherwise, or when the
// rows are not in key order, it merges the rows into a snapshot, stores it
// for the export tasks, keeps a copy in this worker's cache, and renders
// nothing.
func (h *Handlers) extract(ctx context.Context, job pipeline.Job, d *config.Dataset, opts pipeline.Options, formats []string, snapKey string) (*pipeline.Extraction, map[string][]byte, error) {
	ext, arts, w, streamed, err := pipeline.Stream(ctx, h.Env, job, d, opts, formats, false)
	if err != nil {
		return nil, nil, classify(err)
	}
	if streamed {
		return ext, artifactRecords(formats, arts, w), nil
	}
	tmp := h.workPath(job.ID, d.Name, ".snapshot.sqlite")
	defer os.Remove(tmp)
	ext, err = pipeline.Extract(ctx, h.Env, d, opts, tmp)
	if err != nil {
		return nil, nil, classify(err)
	}
	if err := putCopy(ctx, h.Env.Store, snapKey, tmp); err != nil {
		return nil, nil, fmt.Errorf("dataset %s: store snapshot: %w", d.Name, err)
	}
	if h.Snapshots != nil {
		h.Snapshots.adopt(snapKey, tmp)
	}
	return ext, map[string][]byte{}, nil
}

// artifactRecords encodes rendered artifacts as fan-in records (the
// warnings, the same for every format, go with the first format's).
func artifactRecords(formats []string, arts []*pipeline.Artifact, w *pipeline.Warnings) map[string][]byte {
	records := make(map[string][]byte, len(arts)+1)
	for _, a := range arts {
		doc := artifactDoc{Artifact: a}
		if a.Format == formats[0] {
			doc.WarningCount, doc.Warnings = w.Count(), w.Messages()
		}
		records[a.Format], _ = json.Marshal(doc)
	}
	return records
}

// fanIn is the size of a dataset's fan-in set once every format and the
// extraction are recorded: publish is due.
func fanIn(formats []string) int64 { return int64(len(formats) + 1) }

// enqueuePublish enqueues the dataset's publish task (once: its id is
// deterministic).
func (h *Handlers) enqueuePublish(ctx context.Context, job pipeline.Job, dataset, snapKey string) error {
	task, err := newTask(TypePublish, publishID(job.ID, dataset), &v1.PublishTask{
		JobId: job.ID, Dataset: dataset, SnapshotKey: snapKey, Stamp: job.Stamp,
	}, publishTimeout)
	if err != nil {
		return err
	}
	return h.enqueue(ctx, task)
}

// HandleExport renders the task's format of a dataset from its snapshot,
// together with every other format no task has rendered or claimed yet
// (claims.go), records the artifacts, and enqueues publish if that
// completed the dataset's set.
func (h *Handlers) HandleExport(ctx context.Context, t *asynq.Task) error {
	var p v1.ExportTask
	job, d, err := h.open(t, &p)
	if err != nil {
		return err
	}
	format, formats := p.GetFormat(), p.GetFormats()
	if !slices.Contains(formats, format) {
		return fmt.Errorf("export task for %s lists formats %v without it: %w", format, formats, asynq.SkipRetry)
	}
	_, docs, err := h.Records.extraction(ctx, job.ID, d.Name)
	if err != nil {
		return err
	}
	done := int64(len(docs))
	if done < fanIn(formats) {
		// Render this task's format and whatever else nobody holds; if
		// this task's format is already recorded (a retry, a duplicate),
		// still take up formats left unrendered.
		own := format
		if _, ok := docs[format]; ok {
			own = ""
		}
		if done, err = h.render(ctx, job, d, &p, docs, own); err != nil || done < 0 {
			return err
		}
	}
	if done < fanIn(formats) {
		return nil
	}
	return h.enqueuePublish(ctx, job, d.Name, p.GetSnapshotKey())
}

// render claims own (the export task's format, or "" for none) and the
// other unrendered formats, renders them in one pass over the snapshot and
// records the artifacts together. It returns the size of the dataset's
// fan-in set afterwards, or -1 if another task holds the claim of own.
func (h *Handlers) render(ctx context.Context, job pipeline.Job, d *config.Dataset, p *v1.ExportTask, docs map[string][]byte, own string) (int64, error) {
	format, formats := p.GetFormat(), p.GetFormats()
	var pending []string
	for _, f := range formats {
		if _, ok := docs[f]; !ok {
			pending = append(pending, f)
		}
	}
	owner := exportID(job.ID, d.Name, format)
	c, err := h.claimFormats(ctx, job.ID, d.Name, owner, own, pending)
	if err != nil {
		return 0, err
	}
	defer c.release()
	if len(c.formats) == 0 {
		if own == "" {
			return int64(len(docs)), nil
		}
		return -1, nil
	}
	// Another task may have recorded a format and let its claim go
	// between the first read and the claims: read again under them.
	_, docs, err = h.Records.extraction(ctx, job.ID, d.Name)
	if err != nil {
		return 0, err
	}
	c.keepOnly(func(f string) bool { _, ok := docs[f]; return !ok })
	done := int64(len(docs))
	if len(c.formats) == 0 {
		return done, nil
	}
	release, err := h.Locks.Hold(ctx, d.Name, job.ID, 0)
	if err != nil {
		return 0, err
	}
	defer release(true)
	tmp, unuse, err := h.snapshot(ctx, job.ID, d.Name, format, p.GetSnapshotKey())
	if err != nil {
		return 0, fmt.Errorf("dataset %s: fetch snapshot %s: %w", d.Name, p.GetSnapshotKey(), err)
	}
	defer unuse()
	opts := optionsFromProto(p.GetOptions())
	arts, w, err := pipeline.Export(ctx, h.Env, job, d, opts, tmp, c.formats, false)
	if err != nil {
		return 0, classify(err)
	}
	if done, err = h.Records.Store.PutArtifacts(ctx, job.ID, d.Name, artifactRecords(formats, arts, w)); err != nil {
		return 0, err
	}
	h.Env.Log.Info("rendered", "job_id", job.ID, "dataset", d.Name, "task", TypeExport, "formats", c.formats)
	return done, nil
}

// HandlePublish moves the latest names, writes the manifest, advances the
// watermark and releases the dataset's lock.
func (h *Handlers) HandlePublish(ctx context.Context, t *asynq.Task) error {
	var p v1.PublishTask
	job, d, err := h.open(t, &p)
	if err != nil {
		return err
	}
	results, err := h.Records.results(ctx, job.ID)
	if err != nil {
		return err
	}
	if results[d.Name] == nil {
		if err := h.publish(ctx, job, d, p.GetSnapshotKey()); err != nil {
			return err
		}
	}
	return h.finishJob(ctx, job.ID, false)
}

func (h *Handlers) publish(ctx context.Context, job pipeline.Job, d *config.Dataset, snapKey string) error {
	ext, docs, err := h.Records.extraction(ctx, job.ID, d.Name)
	if err != nil {
		return err
	}
	if ext == nil {
		return fmt.Errorf("dataset %s: publish before extraction: %w", d.Name, asynq.SkipRetry)
	}
	release, err := h.Locks.Hold(ctx, d.Name, job.ID, 0)
	if err != nil {
		return err
	}
	defer release(true)
	res := pipeline.ResultOf(ext)
	res.WarningCount, res.Warnings = ext.WarningCount, ext.Warnings
	doc, _ := h.Records.Job(ctx, job.ID)
	var formats []string
	if doc != nil {
		formats = pipeline.FormatsFor(d, pipeline.Options{Formats: doc.Formats})
	}
	for _, f := range formats {
		var a artifactDoc
		if err := json.Unmarshal(docs[f], &a); err != nil || a.Artifact == nil {
			return fmt.Errorf("dataset %s: artifact record of %s: %v: %w", d.Name, f, err, asynq.SkipRetry)
		}
		res.Artifacts = append(res.Artifacts, a.Artifact)
		res.WarningCount += a.WarningCount
		res.Warnings = append(res.Warnings, a.Warnings...)
	}
	res.DurationSeconds = h.Env.CurrentTime().Sub(job.Start).Seconds()
	writeManifest := func(ctx context.Context, r *pipeline.DatasetResult) error {
		rep, _, err := h.Records.Report(ctx, job.ID)
		if err != nil {
			return err
		}
		for i, x := range rep.Datasets {
			if x.Name == r.Name {
				rep.Datasets[i] = r
			}
		}
		return pipeline.PutManifest(ctx, h.Env, rep)
	}
	if err := pipeline.Publish(ctx, h.Env, job, d, ext, res.Artifacts, "", res, writeManifest); err != nil {
		if errors.Is(err, state.ErrConflict) {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		return err
	}
	if d.Incremental == nil { // the snapshot was only the exports' input
		_ = h.Env.Store.Delete(ctx, snapKey)
	}
	if err := h.Records.putResult(ctx, job.ID, res); err != nil {
		return err
	}
	if err := h.Locks.ReleaseLock(ctx, d.Name, job.ID); err != nil {
		h.Env.Log.Warn("release dataset lock", "job_id", job.ID, "dataset", d.Name, "error", err)
	}
	return nil
}

// finishJob marks the job done and writes its final manifest once every
// dataset has a result. Several workers may get here at once; the work
// is idempotent. If the manifest cannot be written the error is returned
// for the task to retry, unless final (no retry will come): then the job
// is marked done anyway, so that `enqueue --wait` and `status` do not wait
// for ever (each dataset's publish already wrote the manifest once).
func (h *Handlers) finishJob(ctx context.Context, id string, final bool) error {
	rep, done, err := h.Records.Report(ctx, id)
	if err != nil || !done {
		return err
	}
	doc, err := h.Records.Job(ctx, id)
	if err != nil {
		return err
	}
	if doc.Status == "succeeded" || doc.Status == "failed" {
		return nil
	}
	doc.End = h.Env.CurrentTime().UTC()
	doc.Status = "succeeded"
	if !rep.Success {
		doc.Status = "failed"
	}
	rep.End, rep.Status = doc.End, doc.Status
	rep.Manifest = h.Env.Store.Location(pipeline.ManifestKey(id))
	if err := pipeline.PutManifest(ctx, h.Env, rep); err != nil {
		if !final {
			return err
		}
		h.Env.Log.Error("could not write the job's final manifest", "job_id", id, "error", err)
	}
	h.Env.Log.Info("job finished", "job_id", id, "success", rep.Success, "records", rep.RecordsProcessed())
	return h.Records.putJob(ctx, doc)
}

// Fail records a dataset's failure once its task will not be retried: the
// job's report says why, the lock is released and, unless the failed task
// was the publish (which may have pointed latest names at them), the files
// the job wrote for the dataset are removed.
func (h *Handlers) Fail(ctx context.Context, t *asynq.Task, cause error) {
	p := payloadFor(t)
	if p == nil || decode(t, p) != nil {
		return
	}
	jobID, dataset := p.GetJobId(), p.GetDataset()
	ctx = context.WithoutCancel(ctx)
	log := h.Env.Log.With("job_id", jobID, "dataset", dataset, "task", t.Type())
	results, err := h.Records.results(ctx, jobID)
	if err != nil {
		return
	}
	if results[dataset] != nil { // published; only the job's end failed
		if err := h.finishJob(ctx, jobID, true); err != nil {
			log.Error("finish job", "error", err)
		}
		return
	}
	res := &pipeline.DatasetResult{Name: dataset, Mode: "failed", Error: cause.Error()}
	// A failed publish may have pointed latest names at the files, or
	// moved the watermark to the snapshot: then they stay.
	cleanup := t.Type() != TypePublish
	if ext, docs, err := h.Records.extraction(ctx, jobID, dataset); err == nil {
		if ext != nil {
			res = pipeline.ResultOf(ext)
			res.Error = cause.Error()
		}
		for f, data := range docs {
			var a artifactDoc
			if cleanup && f != extractionMember && json.Unmarshal(data, &a) == nil && a.Artifact != nil {
				_ = h.Env.Store.Delete(ctx, a.Artifact.Key)
			}
		}
	}
	if cleanup {
		_ = h.Env.Store.Delete(ctx, pipeline.SnapshotKey(dataset, jobID))
	}
	log.Error("dataset failed", "error", cause)
	if err := h.Records.putResult(ctx, jobID, res); err != nil {
		log.Error("record failure", "error", err)
	}
	if err := h.Locks.ReleaseLock(ctx, dataset, jobID); err != nil {
		log.Warn("release dataset lock", "error", err)
	}
	_ = h.finishJob(ctx, jobID, true)
}

// classify marks errors that retrying cannot fix as asynq.SkipRetry: bad
// SQL, bad data under --strict, a changed schema.
func classify(err error) error {
	if errors.Is(err, source.ErrQuery) || errors.Is(err, pipeline.ErrPermanent) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}

// snapshot returns a local copy of the snapshot under key and a function
// to call when done with it.
func (h *Handlers) snapshot(ctx context.Context, job, dataset, format, key string) (string, func(), error) {
	if h.Snapshots != nil {
		return h.Snapshots.get(ctx, h.Env.Store, key)
	}
	tmp := h.workPath(job, dataset, "."+format+".snapshot.sqlite")
	if err := pipeline.Fetch(ctx, h.Env.Store, key, tmp); err != nil {
		return "", nil, err
	}
	return tmp, func() { os.Remove(tmp) }, nil
}

// putCopy publishes a copy of the local file (Put consumes its source;
// the worker keeps the original in its snapshot cache).
func putCopy(ctx context.Context, store storage.Store, key, path string) error {
	cp := path + ".put"
	if err := os.Link(path, cp); err != nil {
		in, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(cp, in, 0o644); err != nil {
			return err
		}
	}
	defer os.Remove(cp)
	return store.Put(ctx, key, cp, false)
}
