package queue

import (
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"google.golang.org/protobuf/proto"

	"github.com/countydatasync/countysync/internal/pipeline"
	v1 "github.com/countydatasync/countysync/proto/countysync/v1"
)

// Task types. Each has a queue of its own per deployment (QueueName).
const (
	TypeExtract = "extract"
	TypeExport  = "export"
	TypePublish = "publish"
)

// TaskTypes lists the task types (and so the queues) in pipeline order.
var TaskTypes = []string{TypeExtract, TypeExport, TypePublish}

// Timeouts and retry budgets per task type.
var (
	timeout = map[string]time.Duration{TypeExtract: 2 * time.Hour, TypeExport: time.Hour, TypePublish: 10 * time.Minute}
	// maxRetry is how often a failing task runs again before the job's
	// dataset fails: enough to ride out a database or bucket restart with
	// backoff (retry.go).
	maxRetry = map[string]int{TypeExtract: 5, TypeExport: 5, TypePublish: 10}
)

// QueueName is the asynq queue of a task type in the deployment whose
// keys start with prefix (state.prefix): "<prefix>:<type>". asynq's queue
// names are global to a Redis database, so two deployments sharing one
// (a test and a production config, two counties) never take each other's
// tasks.
func QueueName(prefix, typ string) string { return prefix + ":" + typ }

// taskMaker makes the tasks of one deployment.
type taskMaker struct{ prefix string }

func (m taskMaker) extract(job, dataset string) *asynq.Task {
	return m.task(TypeExtract, job+":extract:"+dataset, &v1.ExtractTask{JobId: job, Dataset: dataset})
}

func (m taskMaker) export(job, dataset, format string) *asynq.Task {
	return m.task(TypeExport, job+":export:"+dataset+":"+format, &v1.ExportTask{JobId: job, Dataset: dataset, Format: format})
}

func (m taskMaker) publish(job, dataset string) *asynq.Task {
	return m.task(TypePublish, job+":publish:"+dataset, &v1.PublishTask{JobId: job, Dataset: dataset})
}

// task returns a task of type typ with its deterministic id on the
// deployment's queue. The payloads hold strings only, which always encode.
func (m taskMaker) task(typ, id string, msg proto.Message) *asynq.Task {
	payload, _ := proto.Marshal(msg)
	return asynq.NewTask(typ, payload, asynq.TaskID(id), asynq.Queue(QueueName(m.prefix, typ)),
		asynq.Timeout(timeout[typ]), asynq.MaxRetry(maxRetry[typ]))
}

// payload is what every task message carries.
type payload interface {
	proto.Message
	GetJobId() string
	GetDataset() string
}

// payloadFor returns an empty message of the task's type.
func payloadFor(t *asynq.Task) payload {
	switch t.Type() {
	case TypeExtract:
		return &v1.ExtractTask{}
	case TypeExport:
		return &v1.ExportTask{}
	case TypePublish:
		return &v1.PublishTask{}
	}
	return nil
}

// decode reads a task's payload into p and returns its job.
func decode(t *asynq.Task, p payload) (pipeline.Job, error) {
	if err := proto.Unmarshal(t.Payload(), p); err != nil {
		return pipeline.Job{}, fmt.Errorf("decode %s task: %w: %w", t.Type(), err, asynq.SkipRetry)
	}
	job, err := pipeline.ParseJob(p.GetJobId())
	if err != nil {
		return pipeline.Job{}, fmt.Errorf("%s task: %w: %w", t.Type(), err, asynq.SkipRetry)
	}
	return job, nil
}
