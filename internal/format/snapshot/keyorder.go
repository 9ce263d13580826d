package snapshot

import (
	"fmt"

	"github.com/countydatasync/countysync/internal/record"
)

// KeyOrder checks that rows arrive strictly ascending in the order a
// snapshot reads them back (by its key columns, compared as SQLite
// compares the stored keys: see sortKey). Rows that pass can go straight
// to the formats and render exactly what a snapshot of them would; the
// first row that fails means they cannot (out of order, a duplicate key or
// a NULL key).
type KeyOrder struct {
	keys []int
	prev []sortKey
	cur  []sortKey
	bufs [2][][]byte
	have bool
}

// NewKeyOrder returns a checker for rows of schema keyed by keys (column
// names). With no keys every order is the snapshot's (it keeps the rows
// in the order they came).
func NewKeyOrder(schema *record.Schema, keys []string) (*KeyOrder, error) {
	k := &KeyOrder{}
	for _, name := range keys {
		i, err := schema.MustIndex(name)
		if err != nil {
			return nil, fmt.Errorf("key column: %w", err)
		}
		k.keys = append(k.keys, i)
	}
	k.prev = make([]sortKey, len(k.keys))
	k.cur = make([]sortKey, len(k.keys))
	k.bufs[0] = make([][]byte, len(k.keys))
	k.bufs[1] = make([][]byte, len(k.keys))
	return k, nil
}

// Next reports whether row's key is greater than the previous row's (and
// not NULL). After a false it must not be called again.
func (k *KeyOrder) Next(row record.Row) bool {
	return k.compare(row) > 0
}

// compare returns the order of row's key against the previous row's
// (+1 above, 0 equal, -1 below; -2 for a NULL key) and, unless it is
// below or NULL, makes row's key the previous one. The first row is above.
func (k *KeyOrder) compare(row record.Row) int {
	if len(k.keys) == 0 {
		return 1
	}
	bufs := k.bufs[0]
	for j, i := range k.keys {
		v := &row[i]
		if v.Kind == record.Null {
			return -2
		}
		k.cur[j] = keyOf(v, bufs[j])
		bufs[j] = k.cur[j].b
	}
	c := 1
	if k.have {
		c = compareKeys(k.cur, k.prev)
	}
	if c < 0 {
		return c
	}
	k.prev, k.cur = k.cur, k.prev
	k.bufs[0], k.bufs[1] = k.bufs[1], k.bufs[0]
	k.have = true
	return c
}

func compareKeys(a, b []sortKey) int {
	for j := range a {
		if c := a[j].compare(b[j]); c != 0 {
			return c
		}
	}
	return 0
}

// Why a row fails KeyOrder.Next.
const (
	OutOfOrder   = iota // the key is below the previous row's
	DuplicateKey        // the key equals the previous row's
	NullKey             // a key column is NULL
)

// Problem says why Next just refused row: NullKey, DuplicateKey or
// OutOfOrder.
func (k *KeyOrder) Problem(row record.Row) int {
	for _, i := range k.keys {
		if row[i].Kind == record.Null {
			return NullKey
		}
	}
	if k.have && compareKeys(k.cur, k.prev) == 0 {
		return DuplicateKey
	}
	return OutOfOrder
}
