package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/countydatasync/countysync/internal/storage"
)

// rollbackTimeout bounds moving latest names back after a failed link,
// which runs even when the step's context was cancelled.
const rollbackTimeout = time.Minute

// linkAll points every artifact's latest name at the artifact, all or
// nothing as readers see it: it notes where each latest name points
// first, moves them together, and if one cannot move it moves back those
// that did (a name that did not exist before is removed again). The
// run's files stay either way (Fail keeps them once linking began), so a
// latest name whose move back fails still points at a whole file.
func (s *datasetStep) linkAll(ctx context.Context, arts []*Artifact) error {
	store := s.env.Store
	type before struct {
		key   string // "" with known: there was no latest name
		known bool
	}
	prev := make([]before, len(arts))
	forEach(arts, func(i int, a *Artifact) {
		key, err := store.LinkTarget(ctx, a.Latest)
		switch {
		case err == nil:
			prev[i] = before{key: key, known: true}
		case errors.Is(err, storage.ErrNotFound):
			prev[i] = before{known: true}
		default:
			s.log.Warn("cannot tell where a latest name points: it cannot be moved back if another fails to move", "latest", a.Latest, "error", err)
		}
	})
	errs := make([]error, len(arts))
	forEach(arts, func(i int, a *Artifact) { errs[i] = store.Link(ctx, a.Latest, a.Key) })
	err := errors.Join(errs...)
	if err == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	forEach(arts, func(i int, a *Artifact) {
		if errs[i] != nil || prev[i].key == a.Key {
			return
		}
		var rerr error
		switch {
		case !prev[i].known:
			rerr = errors.New("its previous target is unknown")
		case prev[i].key == "":
			rerr = store.Delete(rctx, a.Latest)
		default:
			rerr = store.Link(rctx, a.Latest, prev[i].key)
		}
		if rerr != nil {
			s.log.Error("a latest name moved but could not be moved back; it points at this run's file, which is kept", "latest", a.Latest, "target", a.Key, "error", rerr)
			return
		}
		s.log.Warn("moved a latest name back: another latest name of the dataset could not move", "latest", a.Latest, "target", prev[i].key)
	})
	return fmt.Errorf("dataset %s: move the latest names: %w", s.d.Name, err)
}
