package pipeline

import (
	"fmt"
	"strings"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format/snapshot"
	"github.com/countydatasync/countysync/internal/record"
)

// schemaPolicy compares the query's columns (after transformations) with
// the previous snapshot's. When they are the same it returns false.
// Otherwise, under schema: evolve, it turns ext into a full run, saying
// why, and returns true: merging would leave the rows the run does not
// read without the new columns' values. Under schema: freeze it returns a
// permanent error listing the differences. A snapshot of an older layout
// is rebuilt under either policy: the source did not change.
func schemaPolicy(env *Env, d *config.Dataset, ext *Extraction, prev *snapshot.Info, schema *record.Schema) (bool, error) {
	changes := snapshot.Changes(prev, schema, snapshotOptions(d))
	switch {
	case len(changes) > 0 && d.Schema == config.SchemaFreeze:
		return false, permanent(fmt.Errorf("dataset %s: the query's columns changed since the last run (schema: freeze): %s; run with --full to accept them, or set schema: evolve",
			d.Name, strings.Join(changes, "; ")))
	case len(changes) > 0:
		ext.FullReason = "schema changed (schema: evolve)"
		ext.SchemaChanges = changes
	case !prev.Current():
		ext.FullReason = "the previous snapshot has an older layout; rebuilt"
	default:
		return false, nil
	}
	env.Log.Warn("running full", "dataset", d.Name, "reason", ext.FullReason, "changes", strings.Join(changes, "; "))
	ext.Mode = ModeFull
	return true, nil
}
