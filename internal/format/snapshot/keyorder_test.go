package snapshot

import (
	"testing"

	"github.com/countydatasync/countysync/internal/record"
)

func TestKeyOrder(t *testing.T) {
	schema := &record.Schema{Columns: []record.Column{{Name: "a"}, {Name: "b"}, {Name: "x"}}}
	i := func(v int64) record.Value { return record.Value{Kind: record.Int, I: v} }
	s := func(v string) record.Value { return record.Value{Kind: record.Text, S: v} }
	null := record.Value{}
	for _, tc := range []struct {
		name string
		rows []record.Row
		ok   []bool // Next's answer per row, up to the first false
	}{
		{"ascending ints then text", []record.Row{{i(-5), i(0), null}, {i(2), i(0), null}, {s("1"), i(0), null}}, []bool{true, true, true}},
		{"second key breaks ties", []record.Row{{i(1), s("b"), null}, {i(1), s("c"), null}, {i(2), s("a"), null}}, []bool{true, true, true}},
		{"byte order, not a collation", []record.Row{{s("B"), i(0), null}, {s("a"), i(0), null}, {s("ä"), i(0), null}, {s("b"), i(0), null}}, []bool{true, true, true, false}},
		{"duplicate", []record.Row{{i(1), i(1), null}, {i(1), i(1), null}}, []bool{true, false}},
		{"descending", []record.Row{{i(2), i(1), null}, {i(1), i(9), null}}, []bool{true, false}},
		{"text below int", []record.Row{{s("z"), i(1), null}, {i(1), i(1), null}}, []bool{true, false}},
		{"null key", []record.Row{{null, i(1), i(1)}}, []bool{false}},
	} {
		k, err := NewKeyOrder(schema, []string{"a", "b"})
		if err != nil {
			t.Fatal(err)
		}
		for j, want := range tc.ok {
			if got := k.Next(tc.rows[j]); got != want {
				t.Errorf("%s: row %d: Next = %v, want %v", tc.name, j, got, want)
				break
			}
		}
	}
	if _, err := NewKeyOrder(schema, []string{"nope"}); err == nil {
		t.Error("NewKeyOrder accepted an unknown key column")
	}
	k, _ := NewKeyOrder(schema, nil)
	if !k.Next(record.Row{i(2), null, null}) || !k.Next(record.Row{i(1), null, null}) {
		t.Error("without keys every order should pass")
	}
}
