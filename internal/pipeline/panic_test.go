package pipeline_test

import (
	"context"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/storage"
)

// panickySource panics on every query, as a bug in a step would.
type panickySource struct{ source.Source }

func (panickySource) Query(context.Context, string, *source.Filter) (source.Rows, error) {
	var rows source.Rows
	return rows, nil // a nil Rows: the step's first Next panics
}

// panickyLinkStore panics in Link, which Publish runs on goroutines.
type panickyLinkStore struct{ storage.Store }

func (panickyLinkStore) Link(context.Context, string, string) error { panic("link went wrong") }

// A panic in a step is the dataset's failure, reported with the step and
// the dataset, never a crash without a report (red-team H1); it is
// permanent, so workers do not retry it. The panic on a goroutine the step
// started (the latest names move in parallel) is caught too. The other
// dataset of the job still runs.
func TestPanicInAStepFailsTheDataset(t *testing.T) {
	for _, where := range []string{"extract", "publish"} {
		t.Run(where, func(t *testing.T) {
			env, _ := demoEnv(t)
			if where == "extract" {
				env.Source = panickySource{env.Source}
			} else {
				env.Store = panickyLinkStore{env.Store}
			}
			rep, err := pipeline.Run(context.Background(), env, pipeline.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Success || rep.Status != pipeline.StatusFailed {
				t.Fatalf("report: %+v", rep)
			}
			for _, d := range rep.Datasets {
				if d.Success || !strings.Contains(d.Error, "dataset "+d.Name+": "+where+" step: internal error (panic:") {
					t.Errorf("dataset %s: success %v, error %q", d.Name, d.Success, d.Error)
				}
			}
			if len(rep.Datasets) != 2 {
				t.Errorf("%d datasets in the report, want both", len(rep.Datasets))
			}
		})
	}
}
