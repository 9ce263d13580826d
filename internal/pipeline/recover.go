package pipeline

import (
	"fmt"
	"runtime/debug"
)

// recoverStep turns a panic in a step into a permanent failure of the
// dataset: the stack goes to the log, the error names the dataset and the
// step, and neither runner retries it (a panic is a bug, not an outage)
// or crashes without a report. Every exported step defers it:
//
//	defer recoverStep(env, job, dataset, "extract", &err)
func recoverStep(env *Env, job Job, dataset, step string, err *error) {
	r := recover()
	if r == nil {
		return
	}
	stack := debug.Stack()
	if p, ok := r.(goroutinePanic); ok {
		r, stack = p.value, p.stack
	}
	env.Log.Error("step panicked: this is a bug; the dataset fails", "job_id", job.ID, "dataset", dataset,
		"step", step, "panic", fmt.Sprint(r), "stack", string(stack))
	*err = permanent(fmt.Errorf("dataset %s: %s step: internal error (panic: %v; the stack is in the log)", dataset, step, r))
}

// goroutinePanic carries a panic of a goroutine a step started (forEach)
// to the step's own goroutine, with the goroutine's stack.
type goroutinePanic struct {
	value any
	stack []byte
}

func (p goroutinePanic) String() string { return fmt.Sprintf("%v\n%s", p.value, p.stack) }
