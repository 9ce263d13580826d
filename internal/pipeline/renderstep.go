package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/countydatasync/countysync/internal/state"
)

// Render renders a dataset's snapshot into format and, in the same pass,
// into every other format of the job that no step has rendered or claimed
// yet, and records the artifacts together. On one worker (and always in
// the embedded runner) the first Render of a dataset thus renders every
// format from one read of the snapshot; on several workers, steps that
// start at the same moment split the formats between them. A Render that
// finds its format claimed by another step returns at once: that step
// records it.
//
// A claim is a lock named after the job, dataset and format (see
// claimName) owned by the step's own name, which a retry of the same step
// reuses: if the claimer dies, its retry takes its claims back together
// with any format still unrendered, so no format is left without a step
// that will render it.
func Render(ctx context.Context, env *Env, job Job, dataset, format string) (_ Next, err error) {
	defer recoverStep(env, job, dataset, "render", &err)
	s, err := openStep(ctx, env, job, dataset)
	if err != nil {
		return Next{}, err
	}
	if !slices.Contains(s.formats, format) {
		return Next{}, permanent(fmt.Errorf("dataset %s: %s is not one of the job's formats (%s)", dataset, format, strings.Join(s.formats, ", ")))
	}
	if done, err := s.finished(ctx); err != nil || done {
		return Next{}, err
	}
	fan, err := readFanIn(ctx, env.Jobs, job.ID, dataset, s.formats)
	if err != nil {
		return Next{}, err
	}
	if fan.ext == nil {
		return Next{}, permanent(fmt.Errorf("dataset %s: render before the extraction was recorded", dataset))
	}
	if fan.complete {
		return s.next(fan), nil
	}
	// Render this step's format and whatever else nobody holds; if this
	// format is recorded already (a retry, a duplicate), still take up
	// formats left unrendered.
	own := format
	if _, ok := fan.formats[format]; ok {
		own = ""
	}
	c, err := claimFormats(ctx, env.State, job.ID, dataset, job.ID+":render:"+dataset+":"+format, own, fan.pending(s.formats))
	if err != nil {
		return Next{}, err
	}
	defer c.release(ctx)
	if len(c.formats) == 0 {
		if own != "" {
			return Next{}, nil // another step holds it, renders it and records it
		}
		return s.next(fan), nil
	}
	// Another step may have recorded a format and let its claim go
	// between the first read and the claims: read again under them.
	if fan, err = readFanIn(ctx, env.Jobs, job.ID, dataset, s.formats); err != nil {
		return Next{}, err
	}
	c.keepOnly(ctx, func(f string) bool { _, ok := fan.formats[f]; return !ok })
	if len(c.formats) == 0 {
		return s.next(fan), nil
	}
	lock, err := s.lockUnlessFinished(ctx, 0)
	if err != nil || lock == nil {
		return Next{}, err
	}
	defer s.handOn(ctx, lock)
	path, done, err := s.snapshot(ctx)
	if err != nil {
		return Next{}, err
	}
	defer done()
	t0 := env.now()
	arts, w, err := renderSnapshot(ctx, env, job, s.d, s.opts, path, c.formats)
	if err != nil {
		return Next{}, err
	}
	seconds := roundSeconds(env.now().Sub(t0).Seconds())
	if fan, err = addFanIn(ctx, env.Jobs, job.ID, dataset, renderedRecords(s.formats, arts, w, seconds), s.formats); err != nil {
		return Next{}, err
	}
	s.log.Info("rendered", "formats", c.formats, "seconds", seconds)
	return s.next(fan), nil
}

// snapshot returns a local copy of the dataset's snapshot in this job and
// a function to call when done reading it.
func (s *datasetStep) snapshot(ctx context.Context) (string, func(), error) {
	key := SnapshotKey(s.d.Name, s.job.ID)
	if c := s.env.Snapshots; c != nil {
		path, done, err := c.get(ctx, s.env.Store, key)
		if err != nil {
			return "", nil, fmt.Errorf("dataset %s: fetch snapshot %s: %w", s.d.Name, key, err)
		}
		return path, done, nil
	}
	tmp := s.tempSnapshotPath()
	if err := fetch(ctx, s.env.Store, key, tmp); err != nil {
		return "", nil, fmt.Errorf("dataset %s: fetch snapshot %s: %w", s.d.Name, key, err)
	}
	return tmp, func() { os.Remove(tmp) }, nil
}

// claimName is the lock name of the render claim of one format.
func claimName(job, dataset, format string) string {
	return "render:" + job + ":" + dataset + ":" + format
}

// claim is a set of render claims held by one step.
type claim struct {
	formats []string
	locks   []state.Lock
}

// release gives up every claim.
func (c *claim) release(ctx context.Context) {
	for _, l := range c.locks {
		_ = l.Release(context.WithoutCancel(ctx))
	}
	c.formats, c.locks = nil, nil
}

// claimFormats claims own first (unless own is "") and, if that succeeds,
// every other format in pending, in order. It returns no formats when
// another step holds own's claim: that step renders own and records it.
// Formats another step holds are left to it.
func claimFormats(ctx context.Context, st state.Store, job, dataset, owner, own string, pending []string) (*claim, error) {
	c := &claim{}
	order := slices.DeleteFunc(slices.Clone(pending), func(f string) bool { return f == own })
	if own != "" {
		order = append([]string{own}, order...)
	}
	for _, f := range order {
		l, err := st.Lock(ctx, claimName(job, dataset, f), owner, 0)
		if errors.Is(err, state.ErrLocked) {
			if f == own {
				return c, nil
			}
			continue
		}
		if err != nil {
			c.release(ctx)
			return nil, err
		}
		c.formats = append(c.formats, f)
		c.locks = append(c.locks, l)
	}
	return c, nil
}

// keepOnly releases the claims of formats not in keep (already rendered
// by the time the claims were taken).
func (c *claim) keepOnly(ctx context.Context, keep func(format string) bool) {
	var formats []string
	var locks []state.Lock
	for i, f := range c.formats {
		if keep(f) {
			formats = append(formats, f)
			locks = append(locks, c.locks[i])
		} else {
			_ = c.locks[i].Release(context.WithoutCancel(ctx))
		}
	}
	c.formats, c.locks = formats, locks
}
