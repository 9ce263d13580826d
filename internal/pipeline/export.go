package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format"
	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/storage"
)

// Artifact is one rendered file of one dataset in one format.
type Artifact struct {
	Format string `json:"format"`
	// Key is the storage key of the timestamped file.
	Key string `json:"key"`
	// Latest is the storage key of the stable name.
	Latest string `json:"latest"`
	// Path is where users find the file (a path or an s3:// URL).
	Path string `json:"path"`
	// LatestPath is where users find the stable name.
	LatestPath string `json:"latest_path"`
	Rows       int64  `json:"rows"`
	Bytes      int64  `json:"bytes"`
	SHA256     string `json:"sha256"`

	tmp string
}

// ArtifactKey returns the storage key of a dataset's file in a format.
func ArtifactKey(dataset, stamp, formatName string) string {
	return fmt.Sprintf("%s_%s.%s", dataset, stamp, format.Ext(formatName))
}

// LatestKey returns the stable name of a dataset's file in a format.
func LatestKey(dataset, formatName string) string {
	return dataset + "." + format.Ext(formatName)
}

// exporter renders rows into every format of a dataset at once. Each
// format has its own goroutine; the caller's goroutine (reading the source
// or the snapshot) copies rows into batches that every writer consumes in
// order, so the formats render in parallel on the same rows. A small pool
// of reused batches bounds memory.
type exporter struct {
	writers   []format.Writer
	artifacts []*Artifact
	rows      int64
	started   bool
	closed    bool

	cur   *batch
	free  chan *batch
	work  []chan *batch
	errs  []error
	wg    sync.WaitGroup
	stop  atomic.Bool // a writer failed: the others skip the rest
	first atomic.Pointer[error]
}

const (
	batchRows = 256
	batches   = 4
)

// batch is a run of rows copied out of the source's reused buffers.
type batch struct {
	rows    []record.Row
	n       int
	arena   []byte
	pending atomic.Int32
}

// add copies row into the batch; byte slices go to the batch's arena.
func (b *batch) add(row record.Row) {
	if b.n == len(b.rows) {
		b.rows = append(b.rows, make(record.Row, len(row)))
	}
	dst := b.rows[b.n][:0]
	for _, v := range row {
		if v.B != nil {
			start := len(b.arena)
			b.arena = append(b.arena, v.B...)
			v.B = b.arena[start:len(b.arena):len(b.arena)]
		}
		if v.W != nil {
			start := len(b.arena)
			b.arena = append(b.arena, v.W...)
			v.W = b.arena[start:len(b.arena):len(b.arena)]
		}
		dst = append(dst, v)
	}
	b.rows[b.n] = dst
	b.n++
}

// renderSeq numbers the exporters' temporary files within the process.
var renderSeq atomic.Int64

func newExporter(store storage.Store, job Job, d *config.Dataset, schema *record.Schema, formats []string) (*exporter, error) {
	e := &exporter{}
	opts := format.Options{
		Dataset:        d.Name,
		Schema:         schema,
		KeyColumns:     d.KeyColumns,
		GeometryColumn: d.GeometryColumn(),
		Precision:      config.DefaultPrecision,
	}
	if d.Geometry != nil {
		opts.Precision = d.Geometry.Precision
	}
	for _, f := range formats {
		a := &Artifact{
			Format: f,
			Key:    ArtifactKey(d.Name, job.Stamp, f),
			Latest: LatestKey(d.Name, f),
			// Unique per render: two renders of one format on one worker
			// (a duplicate delivery) never share a file.
			tmp: filepath.Join(store.WorkDir(), fmt.Sprintf("%s-%s-%d.%s", job.ID, d.Name, renderSeq.Add(1), format.Ext(f))),
		}
		os.Remove(a.tmp)
		w, err := format.New(f, a.tmp, opts)
		if err != nil {
			e.abort()
			return nil, fmt.Errorf("dataset %s: open %s writer: %w", d.Name, f, err)
		}
		e.writers = append(e.writers, w)
		e.artifacts = append(e.artifacts, a)
	}
	e.start()
	return e, nil
}

// start launches one goroutine per writer.
func (e *exporter) start() {
	e.started = true
	e.free = make(chan *batch, batches)
	for i := 0; i < batches; i++ {
		e.free <- &batch{}
	}
	e.errs = make([]error, len(e.writers))
	for i := range e.writers {
		ch := make(chan *batch, batches)
		e.work = append(e.work, ch)
		e.wg.Add(1)
		go e.run(i, ch)
	}
}

// run feeds writer i its batches, then closes it and measures its file.
func (e *exporter) run(i int, ch chan *batch) {
	defer e.wg.Done()
	w, a := e.writers[i], e.artifacts[i]
	var err error
	for b := range ch {
		if err == nil && !e.stop.Load() {
			for _, row := range b.rows[:b.n] {
				if err = w.WriteRow(row); err != nil {
					err = fmt.Errorf("%s: %w", a.Format, err)
					e.fail(err)
					break
				}
			}
		}
		if b.pending.Add(-1) == 0 {
			b.n, b.arena = 0, b.arena[:0]
			e.free <- b
		}
	}
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: %w", a.Format, cerr)
	}
	if err == nil && !e.stop.Load() {
		a.Bytes, a.SHA256, err = hashFile(a.tmp)
	}
	e.errs[i] = err
}

func (e *exporter) fail(err error) {
	e.first.CompareAndSwap(nil, &err)
	e.stop.Store(true)
}

// write copies one row into the current batch, handing full batches to the
// writers. It returns the first writer error, if any.
func (e *exporter) write(row record.Row) error {
	if p := e.first.Load(); p != nil {
		return *p
	}
	if e.cur == nil {
		e.cur = <-e.free
	}
	e.cur.add(row)
	e.rows++
	if e.cur.n == batchRows {
		e.dispatch()
	}
	return nil
}

func (e *exporter) dispatch() {
	b := e.cur
	e.cur = nil
	b.pending.Store(int32(len(e.work)))
	for _, ch := range e.work {
		ch <- b
	}
}

// finish hands over the last rows, waits for every writer to close and
// measure its file, and returns their first error.
func (e *exporter) finish() error {
	if e.cur != nil && e.cur.n > 0 {
		e.dispatch()
	}
	e.closeWork()
	e.wg.Wait()
	e.closed = true
	if err := errors.Join(e.errs...); err != nil {
		return err
	}
	for _, a := range e.artifacts {
		a.Rows = e.rows
	}
	return nil
}

func (e *exporter) closeWork() {
	for _, ch := range e.work {
		close(ch)
	}
	e.work = nil
}

// abort stops the writers and removes their files.
func (e *exporter) abort() {
	if !e.closed {
		e.closed = true
		if e.started {
			e.stop.Store(true)
			e.closeWork()
			e.wg.Wait()
		} else {
			for _, w := range e.writers {
				_ = w.Close()
			}
		}
	}
	for _, a := range e.artifacts {
		os.Remove(a.tmp)
	}
}

// upload publishes every artifact under its timestamped name, all at once
// (object stores take parallel uploads well), with the SHA-256 taken when
// the file was rendered, for stores that check it on arrival. On error it
// removes what it had published.
func (e *exporter) upload(ctx context.Context, store storage.Store) error {
	errs := make([]error, len(e.artifacts))
	forEach(e.artifacts, func(i int, a *Artifact) {
		if err := storage.PutSHA256(ctx, store, a.Key, a.tmp, a.SHA256); err != nil {
			errs[i] = fmt.Errorf("publish %s: %w", a.Key, err)
		}
	})
	if err := errors.Join(errs...); err != nil {
		for i, a := range e.artifacts {
			if errs[i] == nil {
				_ = store.Delete(context.WithoutCancel(ctx), a.Key)
			}
		}
		return err
	}
	for _, a := range e.artifacts {
		a.Path = store.Location(a.Key)
		a.LatestPath = store.Location(a.Latest)
	}
	return nil
}

// forEach runs fn on every item at once and waits for all.
// A panic in fn is raised again on the caller's goroutine once every call
// has returned, where the step's recoverStep catches it.
func forEach[T any](items []T, fn func(int, T)) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var panicked *goroutinePanic
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					if panicked == nil {
						panicked = &goroutinePanic{value: r, stack: debug.Stack()}
					}
					mu.Unlock()
				}
			}()
			fn(i, it)
		}()
	}
	wg.Wait()
	if panicked != nil {
		panic(*panicked)
	}
}

func hashFile(path string) (int64, string, error) {
	// Read in large blocks: the file was just written and is in the page
	// cache, so this runs at memory speed on the writer's own goroutine.
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
