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
	return fmt.Sprintf("%s_%s.%s", dataset, stamp, format.Extensions[formatName])
}

// LatestKey returns the stable name of a dataset's file in a format.
func LatestKey(dataset, formatName string) string {
	return dataset + "." + format.Extensions[formatName]
}

// exporter renders rows into every format of a dataset at once.
type exporter struct {
	writers   []format.Writer
	artifacts []*Artifact
	rows      int64
	closed    bool
}

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
			tmp:    filepath.Join(store.WorkDir(), fmt.Sprintf("%s-%s.%s", job.ID, d.Name, format.Extensions[f])),
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
	return e, nil
}

// write renders one row into every format.
func (e *exporter) write(row record.Row) error {
	for i, w := range e.writers {
		if err := w.WriteRow(row); err != nil {
			return fmt.Errorf("%s: %w", e.artifacts[i].Format, err)
		}
	}
	e.rows++
	return nil
}

// finish closes every writer and measures the files.
func (e *exporter) finish() error {
	e.closed = true
	var errs []error
	for i, w := range e.writers {
		if err := w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.artifacts[i].Format, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, a := range e.artifacts {
		a.Rows = e.rows
		n, sum, err := hashFile(a.tmp)
		if err != nil {
			return err
		}
		a.Bytes, a.SHA256 = n, sum
	}
	return nil
}

// abort closes the writers and removes their files.
func (e *exporter) abort() {
	if !e.closed {
		for _, w := range e.writers {
			_ = w.Close()
		}
		e.closed = true
	}
	for _, a := range e.artifacts {
		os.Remove(a.tmp)
	}
}

// upload publishes every artifact under its timestamped name. On error it
// removes what it had published.
func (e *exporter) upload(ctx context.Context, store storage.Store, exclusive bool) error {
	for i, a := range e.artifacts {
		if err := store.Put(ctx, a.Key, a.tmp, exclusive); err != nil {
			for _, done := range e.artifacts[:i] {
				_ = store.Delete(context.WithoutCancel(ctx), done.Key)
			}
			return fmt.Errorf("publish %s: %w", a.Key, err)
		}
		a.Path = store.Location(a.Key)
		a.LatestPath = store.Location(a.Latest)
	}
	return nil
}

func hashFile(path string) (int64, string, error) {
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
