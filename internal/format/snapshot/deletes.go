package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/countydatasync/countysync/internal/record"
)

// KeyRows streams the key columns of a source's rows (those columns
// alone, in the snapshot's key order, see sortKey). source.Rows
// implements it.
type KeyRows interface {
	Next() bool
	Row() record.Row
	Err() error
}

// ErrKeyOrder wraps the error of DeleteMissing when the source's keys do
// not come in the snapshot's key order, so the two cannot be merged.
var ErrKeyOrder = errors.New("keys are not in the snapshot's key order")

// DeleteMissing removes every row whose key is not among src's keys and
// returns how many it removed. src holds the key columns alone, strictly
// ascending in the snapshot's order; both are read once, side by side, so
// memory does not grow with the row count (the keys to remove wait in a
// temporary table). A key src repeats is a duplicate (an error); a key
// out of order wraps ErrKeyOrder. Call it before Put and Delete: a row
// put later is kept whatever src held.
func (w *Writer) DeleteMissing(ctx context.Context, src KeyRows) (int64, error) {
	n := len(w.keys)
	if n == 0 || !w.merge {
		return 0, errors.New("snapshot: DeleteMissing needs a merge into a snapshot with key columns")
	}
	cols := strings.Join(keyCols(n), ", ")
	ph := strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
	if _, err := w.tx.ExecContext(ctx, fmt.Sprintf(`CREATE TEMP TABLE gone (%s)`, cols)); err != nil {
		return 0, fmt.Errorf("snapshot: %w", err)
	}
	gone, err := w.tx.PrepareContext(ctx, fmt.Sprintf(`INSERT INTO temp.gone VALUES (%s)`, ph))
	if err != nil {
		return 0, fmt.Errorf("snapshot: %w", err)
	}
	defer gone.Close()
	snap := newSnapKeys(ctx, w, cols)
	defer snap.close()

	// The source side: its current key, checked ascending.
	keySchema := &record.Schema{}
	idx := make([]int, n)
	for j, i := range w.keys {
		keySchema.Columns = append(keySchema.Columns, w.schema.Columns[i])
		idx[j] = j
	}
	order := &KeyOrder{keys: idx, prev: make([]sortKey, n), cur: make([]sortKey, n),
		bufs: [2][][]byte{make([][]byte, n), make([][]byte, n)}}
	var srcRow record.Row
	srcOK := false
	advance := func() error {
		if !src.Next() {
			srcOK = false
			return src.Err()
		}
		srcRow = src.Row()
		if len(srcRow) != n {
			return fmt.Errorf("dataset %s: the keys query returned %d columns for %d key columns", w.dataset, len(srcRow), n)
		}
		switch order.compare(srcRow) {
		case -2:
			return fmt.Errorf("dataset %s: key column is NULL (%s): %w", w.dataset, keyString(keySchema, idx, srcRow), ErrKey)
		case -1:
			return fmt.Errorf("dataset %s: key %s after a greater key: %w", w.dataset, keyString(keySchema, idx, srcRow), ErrKeyOrder)
		case 0:
			return fmt.Errorf("dataset %s: duplicate key %s: %w", w.dataset, keyString(keySchema, idx, srcRow), ErrKey)
		}
		srcOK = true
		return nil
	}
	if err := advance(); err != nil {
		return 0, err
	}
	var removed int64
	args := make([]any, n)
	for {
		sk, ok, err := snap.next()
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		c := 1 // the snapshot's key against the source's
		for srcOK {
			if c = compareKeys(sk, order.prev); c <= 0 {
				break
			}
			if err := advance(); err != nil {
				return 0, err
			}
		}
		if !srcOK {
			c = -1
		}
		if c < 0 { // not in the source
			for j := range sk {
				args[j] = sk[j].arg()
			}
			if _, err := gone.ExecContext(ctx, args...); err != nil {
				return 0, fmt.Errorf("snapshot: %w", err)
			}
			removed++
		}
	}
	for srcOK { // read the rest, for its errors (order, duplicates)
		if err := advance(); err != nil {
			return 0, err
		}
	}
	if removed > 0 {
		if _, err := w.tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM rows WHERE (%s) IN (SELECT %s FROM temp.gone)`, cols, cols)); err != nil {
			return 0, fmt.Errorf("snapshot: %w", err)
		}
	}
	if _, err := w.tx.ExecContext(ctx, `DROP TABLE temp.gone`); err != nil {
		return 0, fmt.Errorf("snapshot: %w", err)
	}
	return removed, nil
}

// snapKeys reads a snapshot's keys in key order, in batches from a
// goroutine so that SQLite's side runs beside the source's.
type snapKeys struct {
	ch     chan keyBatch
	cancel context.CancelFunc
	batch  keyBatch
	pos    int
	done   chan struct{}
}

type keyBatch struct {
	keys [][]sortKey
	err  error
}

const keyBatchSize = 4096

func newSnapKeys(ctx context.Context, w *Writer, cols string) *snapKeys {
	ctx, cancel := context.WithCancel(ctx)
	s := &snapKeys{ch: make(chan keyBatch, 4), cancel: cancel, done: make(chan struct{})}
	n := len(w.keys)
	go func() {
		defer close(s.done)
		defer close(s.ch)
		rows, err := w.tx.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM rows ORDER BY %s`, cols, cols))
		if err != nil {
			s.ch <- keyBatch{err: fmt.Errorf("snapshot: %w", err)}
			return
		}
		defer rows.Close()
		vals := make([]any, n)
		ptrs := make([]any, n)
		for j := range vals {
			ptrs[j] = &vals[j]
		}
		b := keyBatch{}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				s.ch <- keyBatch{err: fmt.Errorf("snapshot: %w", err)}
				return
			}
			k := make([]sortKey, n)
			for j, v := range vals {
				switch v := v.(type) {
				case int64:
					k[j] = sortKey{class: 1, i: v}
				case string:
					k[j] = sortKey{class: 2, b: []byte(v)}
				case []byte:
					k[j] = sortKey{class: 3, b: append([]byte(nil), v...)}
				default:
					s.ch <- keyBatch{err: fmt.Errorf("snapshot: key of type %T", v)}
					return
				}
			}
			b.keys = append(b.keys, k)
			if len(b.keys) == keyBatchSize {
				select {
				case s.ch <- b:
				case <-ctx.Done():
					return
				}
				b = keyBatch{keys: make([][]sortKey, 0, keyBatchSize)}
			}
		}
		if err := rows.Err(); err != nil {
			b.err = fmt.Errorf("snapshot: %w", err)
		}
		if len(b.keys) > 0 || b.err != nil {
			select {
			case s.ch <- b:
			case <-ctx.Done():
			}
		}
	}()
	return s
}

// next returns the snapshot's next key.
func (s *snapKeys) next() ([]sortKey, bool, error) {
	for s.pos >= len(s.batch.keys) {
		if s.batch.err != nil {
			return nil, false, s.batch.err
		}
		b, ok := <-s.ch
		if !ok {
			return nil, false, nil
		}
		s.batch, s.pos = b, 0
	}
	s.pos++
	return s.batch.keys[s.pos-1], true, nil
}

// close stops the reader and waits for it, so the transaction is free.
func (s *snapKeys) close() {
	s.cancel()
	for range s.ch {
	}
	<-s.done
}
