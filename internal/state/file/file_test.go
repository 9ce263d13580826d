package file_test

import (
	"path/filepath"
	"testing"

	"github.com/countydatasync/countysync/internal/state"
	"github.com/countydatasync/countysync/internal/state/file"
	"github.com/countydatasync/countysync/internal/state/statetest"
)

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store {
		s, err := file.Open(filepath.Join(t.TempDir(), ".countysync", "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
