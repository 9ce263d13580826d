package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/state"
)

// How often a worker's reaper looks.
const (
	// reapEvery is how often it lists the active tasks and their beats; a
	// task is taken over once it was seen without a beat twice, at least
	// takeOverAfter apart (a task asynq has just handed to a worker may
	// not have beaten yet).
	reapEvery     = 500 * time.Millisecond
	takeOverAfter = 500 * time.Millisecond
	// lostEvery is how often it looks for datasets of running jobs that
	// no task will finish; one is failed once it was seen so twice, at
	// least lostEvery apart, without progress in between.
	lostEvery = 5 * time.Second
	// unfinishedJobs is how many of the newest jobs it looks at.
	unfinishedJobs = 100
)

// reaper finds the work of dead workers and of lost tasks in the
// deployment's queues. Every worker runs one; what they do is idempotent,
// so several at once do no harm.
//
//   - An active task whose heartbeat lapsed (its worker was killed, or cut
//     off from Redis for longer than beatTTL) is taken over: marked so
//     (atomically against a late beat), and its work enqueued again under
//     a successor id, "<id>#r1" ("#r2" for the successor's own, …), with
//     fresh retries. The original stays active in asynq until asynq's
//     recoverer hands it back; then the heartbeat middleware finds it
//     taken over and it does nothing.
//   - A dataset of a running job with no task in the deployment's queues
//     (pending, active, scheduled or retry) fails with
//     pipeline.ErrTaskLost and the reason, so that its job ends.
//
// The decisions about the job belong to the steps (pipeline.ListUnfinished,
// pipeline.Fail); the reaper only asks asynq what exists.
type reaper struct {
	env       *pipeline.Env
	insp      *asynq.Inspector
	beats     state.Beats
	client    Enqueuer
	log       *slog.Logger
	lapsedAt  map[string]time.Time
	lostSince map[string]lostSighting
	lastLost  time.Time
	// takeOverAfter and lostEvery, shortened by tests.
	takeOverAfter, lostEvery time.Duration
}

type lostSighting struct {
	at       time.Time
	progress int
}

func newReaper(env *pipeline.Env, insp *asynq.Inspector, beats state.Beats, client Enqueuer) *reaper {
	return &reaper{env: env, insp: insp, beats: beats, client: client, log: env.Log.With("component", "reaper"),
		lapsedAt: map[string]time.Time{}, lostSince: map[string]lostSighting{},
		takeOverAfter: takeOverAfter, lostEvery: lostEvery}
}

// run looks every reapEvery (with jitter, so that workers spread out)
// until ctx ends.
func (r *reaper) run(ctx context.Context) {
	for {
		t := time.NewTimer(reapEvery*4/5 + rand.N(reapEvery*2/5))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		r.tick(ctx)
	}
}

// tick takes over lapsed tasks and, every lostEvery, looks for lost ones.
func (r *reaper) tick(ctx context.Context) {
	if err := r.takeOverLapsed(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("look for tasks of dead workers", "error", err)
	}
	if time.Since(r.lastLost) >= r.lostEvery {
		r.lastLost = time.Now()
		if err := r.failLost(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("look for lost tasks", "error", err)
		}
	}
}

func (r *reaper) queues() []string {
	out := make([]string, len(TaskTypes))
	for i, typ := range TaskTypes {
		out[i] = QueueName(r.env.Config.State.Prefix, typ)
	}
	return out
}

// takeOverLapsed takes over the active tasks whose heartbeat lapsed.
func (r *reaper) takeOverLapsed(ctx context.Context) error {
	var active []*asynq.TaskInfo
	for _, q := range r.queues() {
		tasks, err := listAll(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return r.insp.ListActiveTasks(q, o...) })
		if err != nil {
			return err
		}
		active = append(active, tasks...)
	}
	ids := make([]string, len(active))
	for i, t := range active {
		ids[i] = t.ID
	}
	status, err := r.beats.BeatStatus(ctx, ids)
	if err != nil {
		return err
	}
	now := time.Now()
	seen := make(map[string]bool, len(active))
	for i, t := range active {
		seen[t.ID] = true
		switch status[i] {
		case state.BeatAlive:
			delete(r.lapsedAt, t.ID)
		case state.BeatTakenOver:
			// The original of a task taken over, until asynq hands it
			// back: make sure its successor exists (an enqueue that failed
			// after the take-over is made up for here).
			delete(r.lapsedAt, t.ID)
			if err := r.enqueueSuccessor(ctx, t); err != nil {
				return err
			}
		case state.BeatNone:
			first, ok := r.lapsedAt[t.ID]
			if !ok {
				r.lapsedAt[t.ID] = now
				continue
			}
			if now.Sub(first) < r.takeOverAfter {
				continue
			}
			delete(r.lapsedAt, t.ID)
			took, err := r.beats.TakeOver(ctx, t.ID, takenOverKeep)
			if err != nil {
				return err
			}
			if !took {
				continue // it beat again, or another reaper was first
			}
			r.log.Warn("took over a task whose worker stopped beating", "task_id", t.ID, "type", t.Type,
				"successor", successorID(t.ID))
			if err := r.enqueueSuccessor(ctx, t); err != nil {
				return err
			}
		}
	}
	for id := range r.lapsedAt {
		if !seen[id] {
			delete(r.lapsedAt, id)
		}
	}
	return nil
}

// enqueueSuccessor enqueues the successor of t: the same work under
// successorID(t.ID), kept for takenOverKeep after it completes so that
// enqueuing it again is a no-op.
func (r *reaper) enqueueSuccessor(ctx context.Context, t *asynq.TaskInfo) error {
	task := asynq.NewTask(t.Type, t.Payload, asynq.TaskID(successorID(t.ID)), asynq.Queue(t.Queue),
		asynq.MaxRetry(t.MaxRetry), asynq.Timeout(timeout[t.Type]), asynq.Retention(takenOverKeep))
	if err := enqueueOnce(ctx, r.client, task); err != nil {
		return fmt.Errorf("enqueue successor of %s: %w", t.ID, err)
	}
	return nil
}

// successorID is the id of the task that takes over id: "<id>#r1", and
// "<base>#r<n+1>" for "<base>#r<n>". Dataset and format names cannot hold
// "#", so a successor id never equals another task's id.
func successorID(id string) string {
	if base, n, ok := strings.Cut(id, "#r"); ok {
		if k, err := strconv.Atoi(n); err == nil && k > 0 {
			return base + "#r" + strconv.Itoa(k+1)
		}
	}
	return id + "#r1"
}

// failLost fails the datasets of running jobs that have no task in the
// deployment's queues, seen so twice without progress in between.
func (r *reaper) failLost(ctx context.Context) error {
	unfinished, err := pipeline.ListUnfinished(ctx, r.env.Jobs, unfinishedJobs)
	if err != nil {
		return err
	}
	if len(unfinished) == 0 {
		clear(r.lostSince)
		return nil
	}
	live, archived, err := r.tasksByDataset()
	if err != nil {
		return err
	}
	now := time.Now()
	next := map[string]lostSighting{}
	for _, u := range unfinished {
		k := u.Job.ID + "\x00" + u.Dataset
		if live[k] {
			continue
		}
		prev, ok := r.lostSince[k]
		if !ok || prev.progress != u.Progress {
			next[k] = lostSighting{at: now, progress: u.Progress}
			continue
		}
		if now.Sub(prev.at) < r.lostEvery {
			next[k] = prev
			continue
		}
		cause := fmt.Errorf("dataset %s: %w: no task of it is queued, running or due", u.Dataset, pipeline.ErrTaskLost)
		if a := archived[k]; a != nil {
			cause = fmt.Errorf("dataset %s: %w: its task %s was archived after %d retries: %s", u.Dataset, pipeline.ErrTaskLost, a.ID, a.Retried, a.LastErr)
		}
		r.log.Error("a dataset of a running job has no task left: failing it", "job_id", u.Job.ID, "dataset", u.Dataset, "error", cause)
		pipeline.Fail(ctx, r.env, u.Job, u.Dataset, cause)
	}
	r.lostSince = next
	return nil
}

// tasksByDataset returns the job and dataset ("<job>\x00<dataset>") of
// every task in the deployment's queues that may still run, and the last
// archived task of each.
func (r *reaper) tasksByDataset() (live map[string]bool, archived map[string]*asynq.TaskInfo, err error) {
	live, archived = map[string]bool{}, map[string]*asynq.TaskInfo{}
	key := func(t *asynq.TaskInfo) string {
		p := payloadFor(asynq.NewTask(t.Type, nil))
		if p == nil {
			return ""
		}
		job, err := decode(asynq.NewTask(t.Type, t.Payload), p)
		if err != nil {
			return ""
		}
		return job.ID + "\x00" + p.GetDataset()
	}
	for _, q := range r.queues() {
		type lister func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)
		// Pending before active before done-with: a task moves that way,
		// so a task moving while we list is seen in its later state.
		for _, list := range []lister{r.insp.ListScheduledTasks, r.insp.ListRetryTasks, r.insp.ListPendingTasks, r.insp.ListActiveTasks} {
			tasks, err := listAll(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return list(q, o...) })
			if err != nil {
				return nil, nil, err
			}
			for _, t := range tasks {
				live[key(t)] = true
			}
		}
		tasks, err := listAll(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return r.insp.ListArchivedTasks(q, o...) })
		if err != nil {
			return nil, nil, err
		}
		for _, t := range tasks {
			if k := key(t); archived[k] == nil || t.LastFailedAt.After(archived[k].LastFailedAt) {
				archived[k] = t
			}
		}
	}
	return live, archived, nil
}

// listAll pages through an Inspector listing; a queue that never had a
// task lists nothing.
func listAll(list func(...asynq.ListOption) ([]*asynq.TaskInfo, error)) ([]*asynq.TaskInfo, error) {
	const size = 500
	var out []*asynq.TaskInfo
	for page := 1; ; page++ {
		tasks, err := list(asynq.PageSize(size), asynq.Page(page))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, tasks...)
		if len(tasks) < size {
			return out, nil
		}
	}
}
