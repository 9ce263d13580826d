package snapshot

import (
	"fmt"
	"strings"

	"github.com/countydatasync/countysync/internal/record"
)

// KeyOrder checks that rows arrive strictly ascending in the order a
// snapshot reads them back (by its key columns, compared as SQLite
// compares the stored keys: integers and booleans as numbers, below every
// other value, which compares as its text, byte by byte). Rows that pass
// can go straight to the formats and render exactly what a snapshot of
// them would; the first row that fails means they cannot (out of order,
// a duplicate key or a NULL key).
type KeyOrder struct {
	keys []int
	prev []keyValue
	cur  []keyValue
	have bool
}

// keyValue is one key value in snapshot form.
type keyValue struct {
	isInt bool
	i     int64
	s     string
}

func (a keyValue) compare(b keyValue) int {
	switch {
	case a.isInt && b.isInt:
		return cmpInt(a.i, b.i)
	case a.isInt:
		return -1
	case b.isInt:
		return 1
	}
	return strings.Compare(a.s, b.s)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
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
	k.prev = make([]keyValue, len(k.keys))
	k.cur = make([]keyValue, len(k.keys))
	return k, nil
}

// Next reports whether row's key is greater than the previous row's (and
// not NULL). After a false it must not be called again.
func (k *KeyOrder) Next(row record.Row) bool {
	if len(k.keys) == 0 {
		return true
	}
	for j, i := range k.keys {
		v := &row[i]
		switch v.Kind {
		case record.Null:
			return false
		case record.Int, record.Bool:
			k.cur[j] = keyValue{isInt: true, i: v.I}
		default:
			k.cur[j] = keyValue{s: v.String()}
		}
	}
	if k.have && compareKeys(k.cur, k.prev) <= 0 {
		return false
	}
	k.prev, k.cur = k.cur, k.prev
	k.have = true
	return true
}

func compareKeys(a, b []keyValue) int {
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
