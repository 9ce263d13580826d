package queue

import (
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"google.golang.org/protobuf/proto"

	"github.com/countydatasync/countysync/internal/pipeline"
	v1 "github.com/countydatasync/countysync/proto/countysync/v1"
)

// Task types; each has a queue of the same name.
const (
	TypeExtract = "extract"
	TypeExport  = "export"
	TypePublish = "publish"
)

// Timeouts and retry budgets per task type, set explicitly (DESIGN.md §9).
var (
	extractTimeout = 2 * time.Hour
	exportTimeout  = time.Hour
	publishTimeout = 10 * time.Minute
	maxRetry       = map[string]int{TypeExtract: 5, TypeExport: 5, TypePublish: 10}
)

func extractID(job, dataset string) string        { return job + ":extract:" + dataset }
func exportID(job, dataset, format string) string { return job + ":export:" + dataset + ":" + format }
func publishID(job, dataset string) string        { return job + ":publish:" + dataset }

func newTask(typ, id string, m proto.Message, timeout time.Duration) (*asynq.Task, error) {
	payload, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s task: %w", typ, err)
	}
	return asynq.NewTask(typ, payload,
		asynq.TaskID(id), asynq.Queue(typ), asynq.Timeout(timeout), asynq.MaxRetry(maxRetry[typ])), nil
}

func decode(t *asynq.Task, m proto.Message) error {
	if err := proto.Unmarshal(t.Payload(), m); err != nil {
		return fmt.Errorf("decode %s task: %w: %w", t.Type(), err, asynq.SkipRetry)
	}
	return nil
}

func optionsToProto(o pipeline.Options) *v1.JobOptions {
	return &v1.JobOptions{Formats: o.Formats, Full: o.Full, Incremental: o.Incremental, Strict: o.Strict}
}

func optionsFromProto(o *v1.JobOptions) pipeline.Options {
	if o == nil {
		return pipeline.Options{}
	}
	return pipeline.Options{Formats: o.GetFormats(), Full: o.GetFull(), Incremental: o.GetIncremental(), Strict: o.GetStrict()}
}

// jobOf rebuilds the pipeline.Job of a task from its id and stamp.
func jobOf(id, stamp string) (pipeline.Job, error) {
	t, err := time.Parse(pipeline.JobIDLayout, stamp)
	if err != nil || "etl_"+stamp != id {
		return pipeline.Job{}, fmt.Errorf("bad job id %q / stamp %q: %w", id, stamp, asynq.SkipRetry)
	}
	return pipeline.Job{ID: id, Stamp: stamp, Start: t.UTC()}, nil
}
