package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/storage"
)

// Options select what Verify checks.
type Options struct {
	// JobID checks that job's datasets; empty checks the newest job in
	// which each dataset was published.
	JobID string
	// Datasets limits the check to these datasets; all when empty.
	Datasets []string
}

// Kinds of problems.
const (
	Missing  = "missing"  // the manifest lists a file storage does not have
	Size     = "size"     // the file's size differs from the manifest's
	SHA256   = "sha256"   // the file's SHA-256 differs from the manifest's
	Rows     = "rows"     // the file's row count differs, or its rows cannot be counted
	Latest   = "latest"   // a latest name is missing or not the newest file
	Manifest = "manifest" // a manifest cannot be read
)

// Problem is one mismatch between storage and the manifests.
type Problem struct {
	Kind    string
	JobID   string
	Dataset string
	Format  string
	// Key is the object the problem is about.
	Key    string
	Detail string
}

func (p Problem) String() string {
	where := p.Key
	if p.Dataset != "" {
		where = fmt.Sprintf("%s (dataset %s, %s, job %s)", p.Key, p.Dataset, p.Format, p.JobID)
	}
	return fmt.Sprintf("%s: %s: %s", p.Kind, where, p.Detail)
}

// Checked is a file that was read back.
type Checked struct {
	JobID, Dataset, Format, Key string
	Bytes, Rows                 int64
}

// Result is what Verify found.
type Result struct {
	// Files are the timestamped files read back; Latest counts the latest
	// names read back.
	Files    []Checked
	Latest   int
	Problems []Problem
}

// OK reports whether nothing was found wrong.
func (r *Result) OK() bool { return len(r.Problems) == 0 }

// ErrNothing is returned when no manifest names what Options select.
var ErrNothing = errors.New("nothing to verify")

// Verify reads back from store the files of the jobs and datasets opts
// selects and compares each with its manifest entry: present, size,
// SHA-256, row count. For every dataset and format whose newest published
// file it checks, it also reads the latest name and compares it with that
// file. An error means the check could not be done (storage unreachable);
// mismatches are in the Result.
func Verify(ctx context.Context, store storage.Store, log *slog.Logger, opts Options) (*Result, error) {
	res := &Result{}
	jobs, err := pipeline.ManifestKeys(ctx, store)
	if err != nil {
		return nil, fmt.Errorf("list manifests: %w", err)
	}
	var manifests []*pipeline.Manifest
	for _, k := range jobs {
		m, err := k.Read(ctx, store, log, "", true)
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				continue // deleted since the listing
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Problems = append(res.Problems, Problem{Kind: Manifest, Key: k.JobID, Detail: err.Error()})
			continue
		}
		manifests = append(manifests, m)
	}
	wanted := func(name string) bool { return len(opts.Datasets) == 0 || slices.Contains(opts.Datasets, name) }

	// The newest published file of each dataset and format: what its
	// latest name must hold.
	type df struct{ dataset, format string }
	newest := map[df]string{} // → job id
	for _, m := range manifests {
		for name, r := range m.Datasets {
			if !r.Success {
				continue
			}
			for _, a := range r.Artifacts {
				newest[df{name, a.Format}] = m.JobID // manifests are oldest first
			}
		}
	}

	// What to check: (job, dataset) pairs.
	type pick struct {
		job     string
		dataset string
		result  *pipeline.DatasetResult
	}
	var picks []pick
	if opts.JobID != "" {
		var m *pipeline.Manifest
		for _, x := range manifests {
			if x.JobID == opts.JobID {
				m = x
			}
		}
		if m == nil {
			return nil, fmt.Errorf("%w: no manifest of job %s", ErrNothing, opts.JobID)
		}
		for name, r := range m.Datasets {
			if wanted(name) && r.Success {
				picks = append(picks, pick{m.JobID, name, r})
			}
		}
	} else {
		latest := map[string]pick{}
		for _, m := range manifests {
			for name, r := range m.Datasets {
				if wanted(name) && r.Success {
					latest[name] = pick{m.JobID, name, r}
				}
			}
		}
		for _, p := range latest {
			picks = append(picks, p)
		}
	}
	if len(picks) == 0 {
		what := "any dataset"
		if len(opts.Datasets) > 0 {
			what = fmt.Sprintf("dataset %v", opts.Datasets)
		}
		if opts.JobID != "" {
			what += " in job " + opts.JobID
		}
		return nil, fmt.Errorf("%w: no manifest records a successful publish of %s", ErrNothing, what)
	}
	sort.Slice(picks, func(i, j int) bool { return picks[i].dataset < picks[j].dataset })

	for _, p := range picks {
		for _, a := range p.result.Artifacts {
			prob := Problem{JobID: p.job, Dataset: p.dataset, Format: a.Format, Key: a.Key}
			got, err := readBack(ctx, store, a.Key, p.dataset, a.Format)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				prob.Kind, prob.Detail = Missing, "the manifest lists it; storage does not have it"
				res.Problems = append(res.Problems, prob)
			case err != nil:
				return nil, err
			default:
				res.Files = append(res.Files, Checked{JobID: p.job, Dataset: p.dataset, Format: a.Format, Key: a.Key, Bytes: got.bytes, Rows: got.rows})
				res.Problems = append(res.Problems, compare(prob, a, got)...)
			}
			if newest[df{p.dataset, a.Format}] != p.job || a.Latest == "" {
				continue
			}
			// The latest name holds the newest file: same bytes.
			res.Latest++
			lp := Problem{Kind: Latest, JobID: p.job, Dataset: p.dataset, Format: a.Format, Key: a.Latest}
			l, err := readBack(ctx, store, a.Latest, "", "")
			switch {
			case errors.Is(err, storage.ErrNotFound):
				lp.Detail = fmt.Sprintf("missing (or pointing at a missing file); it should hold %s", a.Key)
				res.Problems = append(res.Problems, lp)
			case err != nil:
				return nil, err
			case l.sha256 != a.SHA256 || l.bytes != a.Bytes:
				lp.Detail = fmt.Sprintf("is not the newest file %s (%d bytes, sha256 %s; want %d bytes, sha256 %s)",
					a.Key, l.bytes, short(l.sha256), a.Bytes, short(a.SHA256))
				res.Problems = append(res.Problems, lp)
			}
		}
	}
	return res, nil
}

// compare returns the differences between what the manifest says of a
// file and what was read back.
func compare(p Problem, a *pipeline.Artifact, got *readResult) []Problem {
	var out []Problem
	add := func(kind, detail string) {
		p.Kind, p.Detail = kind, detail
		out = append(out, p)
	}
	if got.bytes != a.Bytes {
		add(Size, fmt.Sprintf("%d bytes, the manifest says %d", got.bytes, a.Bytes))
	}
	if got.sha256 != a.SHA256 {
		add(SHA256, fmt.Sprintf("%s, the manifest says %s", got.sha256, a.SHA256))
	}
	switch {
	case got.rowsErr != nil:
		add(Rows, fmt.Sprintf("cannot count the rows: %v (the manifest says %d)", got.rowsErr, a.Rows))
	case got.counted && got.rows != a.Rows:
		add(Rows, fmt.Sprintf("%d rows, the manifest says %d", got.rows, a.Rows))
	}
	return out
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}

// readResult is what reading a file back found.
type readResult struct {
	bytes   int64
	sha256  string
	rows    int64
	counted bool
	rowsErr error
}

// readBack reads the object under key once, hashing it and, when format
// is known, counting its rows with the format's independent reader.
func readBack(ctx context.Context, store storage.Store, key, dataset, format string) (*readResult, error) {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h := sha256.New()
	cnt := &counter{}
	src := io.TeeReader(rc, io.MultiWriter(h, cnt))
	out := &readResult{}
	if count, ok := streamCounters[format]; ok {
		out.rows, out.rowsErr = count(src)
		out.counted = true
	} else if count, ok := fileCounters[format]; ok {
		out.rows, out.rowsErr, err = countViaFile(ctx, store, src, dataset, count)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", key, err)
		}
		out.counted = true
	}
	// Whatever the counter left unread (all of it, for a latest name)
	// still goes through the hash.
	if _, err := io.Copy(io.Discard, src); err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	out.bytes, out.sha256 = cnt.n, hex.EncodeToString(h.Sum(nil))
	return out, nil
}

// countViaFile copies src to a temporary file and counts its rows there.
// err is a failure to read or write; rowsErr one to count.
func countViaFile(ctx context.Context, store storage.Store, src io.Reader, dataset string, count countFile) (rows int64, rowsErr, err error) {
	f, err := os.CreateTemp(store.WorkDir(), "verify-*.sqlite")
	if err != nil {
		return 0, nil, err
	}
	defer os.Remove(f.Name())
	_, err = io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, nil, err
	}
	rows, rowsErr = count(ctx, f.Name(), dataset)
	return rows, rowsErr, nil
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
