package snapshot

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/record"
)

// TestDecimalKeyOrder: the bytes of numeric keys compare as math/big
// compares the numbers, and equal numbers write equal bytes.
func TestDecimalKeyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func() string {
		var b strings.Builder
		if rng.IntN(2) == 0 {
			b.WriteByte('-')
		}
		b.WriteString(strings.Repeat("0", rng.IntN(2)))
		b.WriteString(fmt.Sprint(rng.IntN(1000)))
		if rng.IntN(2) == 0 {
			b.WriteByte('.')
			b.WriteString(fmt.Sprint(rng.IntN(1000)))
			b.WriteString(strings.Repeat("0", rng.IntN(3)))
		}
		return b.String()
	}
	vals := []string{"0", "-0", "0.000", "1.0", "1.00", "10", "9.99", "-10", "-9.99", "0.001", "-0.001", "0.01"}
	for range 400 {
		vals = append(vals, gen())
	}
	for i := range vals {
		for j := range vals {
			a, _ := new(big.Rat).SetString(vals[i])
			b, _ := new(big.Rat).SetString(vals[j])
			want := a.Cmp(b)
			got := cmp.Compare(string(appendDecimalKey(nil, vals[i])), string(appendDecimalKey(nil, vals[j])))
			if got != want {
				t.Fatalf("%s vs %s: key order %d, want %d", vals[i], vals[j], got, want)
			}
		}
	}
	order := []string{"-Infinity", "-1", "0", "1", "Infinity", "NaN"}
	for i := 1; i < len(order); i++ {
		if string(appendDecimalKey(nil, order[i-1])) >= string(appendDecimalKey(nil, order[i])) {
			t.Errorf("%s should sort before %s", order[i-1], order[i])
		}
	}
}

// TestFloatAndTimeKeyOrder: float and temporal keys order as the values.
func TestFloatAndTimeKeyOrder(t *testing.T) {
	fs := []float64{math.Inf(-1), -1e300, -1, -1e-300, 0, 1e-300, 1, 1e300, math.Inf(1), math.NaN()}
	for i := 1; i < len(fs); i++ {
		if string(appendFloatKey(nil, fs[i-1])) >= string(appendFloatKey(nil, fs[i])) {
			t.Errorf("%v should sort before %v", fs[i-1], fs[i])
		}
	}
	if string(appendFloatKey(nil, math.Copysign(0, -1))) != string(appendFloatKey(nil, 0)) {
		t.Error("-0 and 0 should be one key")
	}
	base := time.Date(2025, 4, 11, 14, 30, 42, 0, time.UTC)
	ts := []record.Value{{Kind: record.TimestampTZ, S: "-infinity"}, record.TimestampTZValue(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)),
		record.TimestampTZValue(base), record.TimestampTZValue(base.Add(500 * time.Millisecond)), record.TimestampTZValue(base.Add(time.Second)),
		{Kind: record.TimestampTZ, S: "infinity"}}
	for i := 1; i < len(ts); i++ {
		if string(appendTimeKey(nil, &ts[i-1])) >= string(appendTimeKey(nil, &ts[i])) {
			t.Errorf("%s should sort before %s", ts[i-1].String(), ts[i].String())
		}
	}
}

func TestChanges(t *testing.T) {
	col := func(name string, k record.Kind, st string) record.Column {
		return record.Column{Name: name, Kind: k, SourceType: st}
	}
	old := &Info{Version: formatVersion, Options: Options{Keys: []string{"id"}}, Schema: &record.Schema{Columns: []record.Column{
		col("id", record.Int, "int4"), col("name", record.Text, "text"), col("amount", record.Numeric, "numeric(10,2)"), col("gone", record.Text, "text")}}}
	same := &record.Schema{Columns: slices.Clone(old.Schema.Columns)}
	if ch := Changes(old, same, old.Options); ch != nil {
		t.Fatalf("same schema: %v", ch)
	}
	now := &record.Schema{Columns: []record.Column{
		col("id", record.Int, "int4"), col("label", record.Text, "text"), col("amount", record.Numeric, "numeric(12,4)"), col("n", record.Int, "int8")}}
	got := strings.Join(Changes(old, now, old.Options), "; ")
	want := "column name renamed to label; column amount changed from numeric(10,2) to numeric(12,4); column gone (text) dropped; column n (integer) added"
	if got != want {
		t.Fatalf("changes:\n%s\nwant\n%s", got, want)
	}
	if ch := Changes(old, same, Options{Keys: []string{"name"}}); len(ch) != 1 || !strings.Contains(ch[0], "key columns") {
		t.Fatalf("keys changed: %v", ch)
	}
}

// keyRows is a KeyRows over fixed rows.
type keyRows struct {
	rows []record.Row
	i    int
}

func (k *keyRows) Next() bool      { k.i++; return k.i <= len(k.rows) }
func (k *keyRows) Row() record.Row { return k.rows[k.i-1] }
func (k *keyRows) Err() error      { return nil }

func TestDeleteMissing(t *testing.T) {
	ctx := context.Background()
	ts := &record.Schema{Columns: []record.Column{{Name: "apn", Kind: record.Text}, {Name: "v", Kind: record.Int}}}
	opts := Options{Keys: []string{"apn"}}
	text := func(s ...string) []record.Row {
		var out []record.Row
		for _, v := range s {
			out = append(out, record.Row{record.TextValue(v)})
		}
		return out
	}
	fresh := func() string {
		path := filepath.Join(t.TempDir(), "s.sqlite")
		w, _ := Create(ctx, path, "d", ts, opts)
		for i, k := range []string{"A", "B", "C", "a", "b", "ä"} {
			w.Put(ctx, record.Row{record.TextValue(k), record.IntValue(int64(i))})
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	path := fresh()
	w, err := Merge(ctx, path, "d", ts, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Byte order: upper case before lower case before ä. "Z" is new.
	n, err := w.DeleteMissing(ctx, &keyRows{rows: text("B", "Z", "a", "ä")})
	if err != nil || n != 3 {
		t.Fatalf("DeleteMissing = %d, %v; want 3", n, err)
	}
	w.Commit()
	r, _ := Open(ctx, path)
	var got []string
	for r.Next() {
		got = append(got, r.Row()[0].S)
	}
	r.Close()
	if strings.Join(got, ",") != "B,a,ä" {
		t.Fatalf("rows left %v, want B,a,ä", got)
	}
	for _, tc := range []struct {
		name string
		keys []record.Row
		want string
	}{
		{"out of order", text("B", "A"), "not in the snapshot's key order"},
		{"duplicate", text("A", "A"), "duplicate key apn=A"},
		{"null", []record.Row{{record.Value{}}}, "NULL"},
	} {
		w, _ := Merge(ctx, fresh(), "d", ts, opts)
		_, err := w.DeleteMissing(ctx, &keyRows{rows: tc.keys})
		w.Abort()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
