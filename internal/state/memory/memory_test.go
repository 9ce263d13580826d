package memory_test

import (
	"testing"

	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/state/memory"
	"github.com/countydatasync/countysync/internal/state/statetest"
)

func TestConformance(t *testing.T) {
	statetest.RunJobs(t, func(t *testing.T) state.Jobs { return memory.NewJobs() })
}
