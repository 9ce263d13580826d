package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format/snapshot"
	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/sqltext"
)

// deletesDue reports whether this run compares the source's keys with the
// snapshot's (incremental.deletes: keys): an incremental run, when
// deletes_every has passed since the snapshot's last comparison (every
// run without it).
func deletesDue(env *Env, d *config.Dataset, ext *Extraction, prev *snapshot.Info) bool {
	if d.Incremental == nil || d.Incremental.Deletes != "keys" || ext.Mode != ModeIncremental || prev == nil {
		return false
	}
	every := d.Incremental.DeletesEvery.D()
	return every <= 0 || prev.DeletesChecked.IsZero() || env.now().Sub(prev.DeletesChecked) >= every
}

// keysQuery is the dataset's query reduced to its key columns, sorted as
// snapshots order keys (the source's KeySorter says how). This is the one
// place that builds it.
func keysQuery(src source.Source, d *config.Dataset, schema *record.Schema) (string, error) {
	sorter, _ := src.(source.KeySorter)
	cols := make([]string, len(d.KeyColumns))
	order := make([]string, len(d.KeyColumns))
	for j, k := range d.KeyColumns {
		i, err := schema.MustIndex(k)
		if err != nil {
			return "", fmt.Errorf("dataset %s: key_columns: %w", d.Name, err)
		}
		kind := schema.Columns[i].Kind
		if !snapshot.Orderable(kind) {
			return "", permanent(fmt.Errorf("dataset %s: incremental.deletes: keys cannot sort key column %s of kind %s", d.Name, k, kind))
		}
		cols[j] = sqltext.QuoteIdent(k)
		order[j] = cols[j]
		if sorter != nil {
			order[j] = sorter.SortKey(cols[j], kind)
		}
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM (\n" + sqltext.TrimStatement(d.Query) +
		"\n) AS countysync_keys ORDER BY " + strings.Join(order, ", "), nil
}

// queryKeys starts the keys-only query.
func queryKeys(ctx context.Context, env *Env, d *config.Dataset, schema *record.Schema) (source.Rows, error) {
	q, err := keysQuery(env.Source, d, schema)
	if err != nil {
		return nil, err
	}
	rows, err := env.Source.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: keys query (incremental.deletes: keys): %w", d.Name, err)
	}
	return rows, nil
}

// deleteMissing removes from the snapshot the keys the keys-only query no
// longer returns, counts them as deleted and records the comparison.
func deleteMissing(ctx context.Context, env *Env, d *config.Dataset, ext *Extraction, sw *snapshot.Writer, keys source.Rows) error {
	n, err := sw.DeleteMissing(ctx, keys)
	switch {
	case errors.Is(err, snapshot.ErrKeyOrder):
		return permanent(fmt.Errorf("%w: the source sorts the key columns differently from the snapshot (integers and numbers by value, text byte by byte); incremental.deletes: keys cannot compare them", err))
	case err != nil && (source.IsPermanent(err) || errors.Is(err, snapshot.ErrKey)):
		return permanent(fmt.Errorf("dataset %s: keys query (incremental.deletes: keys): %w", d.Name, err))
	case err != nil:
		return fmt.Errorf("dataset %s: keys query (incremental.deletes: keys): %w", d.Name, err)
	}
	ext.Deleted += n
	ext.KeysChecked = true
	return sw.SetDeletesChecked(ctx, env.now())
}
