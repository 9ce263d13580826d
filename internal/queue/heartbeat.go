package queue

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/state"
)

// Heartbeats of running tasks. asynq notices a dead worker only after its
// 30 s lease and a further 30 s of allowed clock skew, and looks once a
// minute: 60–120 s. A worker therefore also beats for each task it runs, a
// key "<state.prefix>:hb:<task id>" that lives beatTTL and is renewed every
// beatEvery, and every worker's reaper (reaper.go) takes over an active
// task whose beat lapsed.
const (
	beatTTL   = 3 * time.Second
	beatEvery = 500 * time.Millisecond
	// takenOverKeep is how long a taken-over mark (and a successor task
	// after it completes) stays: longer than asynq needs to hand the
	// original back (lease 30 s + skew 30 s + a minute between checks).
	takenOverKeep = 15 * time.Minute
)

// errBeatLost cancels a task whose heartbeat could not be renewed for
// beatTTL: another worker may take it over from then on, so this one
// stops, as asynq stops a task whose lease it cannot extend. The worker
// does not fail the job's dataset for it (the take-over, or a retry, runs
// the step again).
var errBeatLost = errors.New("task stopped: its heartbeat could not be renewed (Redis unreachable?)")

// errTakenOver cancels a task another worker took over.
var errTakenOver = errors.New("task stopped: another worker took it over")

// beater keeps the heartbeats of a worker's running tasks.
type beater struct {
	beats state.Beats
	log   *slog.Logger
	ttl   time.Duration // beatTTL; tests shorten it
	every time.Duration // beatEvery
}

// middleware beats for the task while its handler runs. A task that was
// taken over (a second delivery of the original of a task the reaper
// re-enqueued) does nothing and succeeds; a task taken over while it runs
// is cancelled and succeeds, leaving the work to its successor; a task
// whose beats fail for a whole ttl is cancelled with errBeatLost.
func (b *beater) middleware(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		id, ok := asynq.GetTaskID(ctx)
		if !ok {
			return next.ProcessTask(ctx, t)
		}
		log := b.log.With("task_id", id, "type", t.Type())
		lastOK := time.Now()
		switch err := b.beats.Beat(ctx, id, b.ttl); {
		case errors.Is(err, state.ErrTakenOver):
			log.Info("task was taken over by another worker after its heartbeat lapsed: nothing to do")
			return nil
		case err != nil:
			log.Warn("heartbeat failed", "error", err)
		}
		hctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		stop, done := make(chan struct{}), make(chan struct{})
		var takenOver atomic.Bool
		go func() {
			defer close(done)
			tick := time.NewTicker(b.every)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				sent := time.Now()
				bctx, bcancel := context.WithTimeout(context.WithoutCancel(ctx), b.every)
				err := b.beats.Beat(bctx, id, b.ttl)
				bcancel()
				switch {
				case err == nil:
					lastOK = sent
				case errors.Is(err, state.ErrTakenOver):
					log.Warn("another worker took this task over (its heartbeat had lapsed): stopping it")
					takenOver.Store(true)
					cancel(errTakenOver)
					return
				case time.Since(lastOK) >= b.ttl:
					log.Error("heartbeat lost: stopping the task so that no two workers run it", "error", err)
					cancel(errBeatLost)
					return
				default:
					log.Warn("heartbeat failed; retrying", "error", err)
				}
			}
		}()
		err := next.ProcessTask(hctx, t)
		close(stop)
		<-done
		if takenOver.Load() {
			return nil
		}
		if cause := context.Cause(hctx); errors.Is(cause, errBeatLost) && err != nil {
			return errors.Join(err, errBeatLost)
		}
		ectx, ecancel := context.WithTimeout(context.WithoutCancel(ctx), b.every)
		defer ecancel()
		if eerr := b.beats.EndBeat(ectx, id); eerr != nil {
			log.Debug("end heartbeat", "error", eerr)
		}
		return err
	})
}
