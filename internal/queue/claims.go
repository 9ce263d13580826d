package queue

import (
	"context"
	"errors"
	"slices"

	"github.com/countydatasync/countysync/internal/state"
)

// Render claims let one export task render several formats of a dataset
// in one pass over the snapshot. The first export task of a dataset to
// run claims every format not yet rendered; the export tasks of the
// formats it claimed find their format claimed and finish at once, and
// the claimer records every artifact (the last record enqueues publish).
// On one worker the four formats of a dataset then cost one read of the
// snapshot and render in parallel, instead of four reads in four tasks;
// on several workers, tasks that start at the same moment split the
// formats between them.
//
// A claim is a leased lock named after the job, dataset and format, owned
// by the claiming task's id. If the claimer's worker dies, asynq delivers
// its task again under the same id, which takes its claims back (the lock
// is re-entrant) together with any other format still unrendered, so no
// format is left without a task that will render it.

// claimName is the lock name of the render claim of one format.
func claimName(job, dataset, format string) string {
	return "render:" + job + ":" + dataset + ":" + format
}

// claim is a set of render claims held by one export task.
type claim struct {
	formats  []string
	releases []func(keep bool)
}

// release gives up every claim (deleting the locks).
func (c *claim) release() {
	for _, r := range c.releases {
		r(false)
	}
	c.formats, c.releases = nil, nil
}

// claimFormats claims own first (unless own is "") and, if that succeeds,
// every other format in pending, in order. It returns no formats when
// another task holds own's claim: that task renders own and records it.
// Formats another task holds are left to it.
func (h *Handlers) claimFormats(ctx context.Context, job, dataset, owner, own string, pending []string) (*claim, error) {
	c := &claim{}
	order := slices.DeleteFunc(slices.Clone(pending), func(f string) bool { return f == own })
	if own != "" {
		order = append([]string{own}, order...)
	}
	for _, f := range order {
		release, err := h.Locks.Hold(ctx, claimName(job, dataset, f), owner, 0)
		if errors.Is(err, state.ErrLocked) {
			if f == own {
				return c, nil
			}
			continue
		}
		if err != nil {
			c.release()
			return nil, err
		}
		c.formats = append(c.formats, f)
		c.releases = append(c.releases, release)
	}
	return c, nil
}

// keepOnly releases the claims of formats not in keep (already rendered
// by the time the claims were taken).
func (c *claim) keepOnly(keep func(format string) bool) {
	var formats []string
	var releases []func(bool)
	for i, f := range c.formats {
		if keep(f) {
			formats = append(formats, f)
			releases = append(releases, c.releases[i])
		} else {
			c.releases[i](false)
		}
	}
	c.formats, c.releases = formats, releases
}
