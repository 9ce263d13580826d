package snapshot

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/record"
)

var schema = &record.Schema{Columns: []record.Column{
	{Name: "id", Kind: record.Int},
	{Name: "name", Kind: record.Text},
	{Name: "at", Kind: record.TimestampTZ},
}}

func row(id int64, name string, at time.Time) record.Row {
	return record.Row{record.IntValue(id), record.TextValue(name), record.TimestampTZValue(at)}
}

func readAll(t *testing.T, path string) []string {
	t.Helper()
	r, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for r.Next() {
		row := r.Row()
		out = append(out, row[0].String()+"|"+row[1].String()+"|"+row[2].String())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreateMergeRead(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.sqlite")
	t0 := time.Date(2025, 4, 11, 14, 30, 42, 123456000, time.UTC)
	w, err := Create(ctx, path, "d", schema, Options{Keys: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []record.Row{row(3, "c", t0), row(1, "a", t0), row(2, "b", t0)} {
		if c, err := w.Put(ctx, r); err != nil || c != Inserted {
			t.Fatalf("put: %v %v", c, err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	ts := "2025-04-11T14:30:42.123456Z"
	want := []string{"1|a|" + ts, "2|b|" + ts, "3|c|" + ts}
	if got := readAll(t, path); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after create:\n%v\nwant\n%v", got, want)
	}

	w, err = Merge(ctx, path, "d", schema, Options{Keys: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	changes := map[Change]int{}
	for _, r := range []record.Row{row(2, "b", t0), row(3, "C", t0), row(4, "d", t0)} {
		c, err := w.Put(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		changes[c]++
	}
	if gone, err := w.Delete(ctx, row(1, "", t0)); err != nil || !gone {
		t.Fatalf("delete: %v %v", gone, err)
	}
	if gone, _ := w.Delete(ctx, row(99, "", t0)); gone {
		t.Error("deleting a missing key reported a row")
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if changes[Inserted] != 1 || changes[Updated] != 1 || changes[Unchanged] != 1 {
		t.Errorf("changes = %v", changes)
	}
	want = []string{"2|b|" + ts, "3|C|" + ts, "4|d|" + ts}
	if got := readAll(t, path); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after merge:\n%v\nwant\n%v", got, want)
	}
}

func TestDuplicateKeyOnCreate(t *testing.T) {
	ctx := context.Background()
	w, err := Create(ctx, filepath.Join(t.TempDir(), "s.sqlite"), "parcels", schema, Options{Keys: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := w.Put(ctx, row(1, "a", time.Now())); err != nil {
		t.Fatal(err)
	}
	_, err = w.Put(ctx, row(1, "b", time.Now()))
	if err == nil || !strings.Contains(err.Error(), "parcels") || !strings.Contains(err.Error(), "duplicate key") {
		t.Fatalf("duplicate key error = %v", err)
	}
}

func TestSchemaChangeRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.sqlite")
	w, _ := Create(ctx, path, "d", schema, Options{Keys: []string{"id"}})
	w.Commit()
	other := schema.Clone()
	other.Columns[1].Kind = record.Int
	_, err := Merge(ctx, path, "d", other, Options{Keys: []string{"id"}})
	if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "column name changed from text to integer") {
		t.Fatalf("merge with changed schema: %v", err)
	}
}

// TestAppendWithoutKeys: a snapshot without keys holds exactly the rows
// put, duplicates included; an incremental run replaces the rows at or
// above its cursor bound (red-team D4: identical new rows were dropped).
func TestAppendWithoutKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.sqlite")
	day := func(d int) time.Time { return time.Date(2025, 4, d, 0, 0, 0, 0, time.UTC) }
	opts := Options{Cursor: "at"}
	w, err := Create(ctx, path, "d", schema, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []record.Row{row(5, "sale", day(10)), row(1, "sale", day(11)), row(1, "sale", day(11)), row(9, "old", day(11))} {
		if c, err := w.Put(ctx, r); err != nil || c != Inserted {
			t.Fatalf("put: %v %v", c, err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	// The source now holds, at or after day 11: the two sales again, a
	// third identical sale and a refund; row 9 is gone.
	w, err = Merge(ctx, path, "d", schema, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Replace(ctx, record.TimestampTZValue(day(11)), true); err != nil {
		t.Fatal(err)
	}
	changes := map[Change]int{}
	for _, r := range []record.Row{row(1, "sale", day(11)), row(1, "sale", day(11)), row(1, "sale", day(11)), row(2, "refund", day(12))} {
		c, err := w.Put(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		changes[c]++
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if changes[Unchanged] != 2 || changes[Inserted] != 2 || w.Replaced() != 1 {
		t.Errorf("changes %v, replaced %d; want 2 unchanged, 2 inserted, 1 replaced", changes, w.Replaced())
	}
	got := readAll(t, path)
	want := []string{"5|sale|2025-04-10T00:00:00Z", "1|sale|2025-04-11T00:00:00Z", "1|sale|2025-04-11T00:00:00Z",
		"1|sale|2025-04-11T00:00:00Z", "2|refund|2025-04-12T00:00:00Z"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%v\nwant\n%v", got, want)
	}
}

// TestDuplicateKeyInMerge: a key read twice in one incremental run fails
// as in a full run, naming the key (red-team D6).
func TestDuplicateKeyInMerge(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.sqlite")
	opts := Options{Keys: []string{"id"}}
	w, _ := Create(ctx, path, "parcels", schema, opts)
	w.Put(ctx, row(3, "v3", time.Unix(0, 0)))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	w, err := Merge(ctx, path, "parcels", schema, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := w.Put(ctx, row(3, "dup-a", time.Unix(0, 0))); err != nil {
		t.Fatal(err)
	}
	_, err = w.Put(ctx, row(3, "dup-b", time.Unix(0, 0)))
	if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "duplicate key id=3") {
		t.Fatalf("second put of key 3: %v", err)
	}
}

// TestNumericKeyByValue: 1.0 and 1.00 are one key (red-team D7).
func TestNumericKeyByValue(t *testing.T) {
	ctx := context.Background()
	ns := &record.Schema{Columns: []record.Column{{Name: "code", Kind: record.Numeric}, {Name: "val", Kind: record.Text}}}
	path := filepath.Join(t.TempDir(), "s.sqlite")
	opts := Options{Keys: []string{"code"}}
	w, _ := Create(ctx, path, "d", ns, opts)
	for _, c := range []string{"1.0", "2", "10"} {
		if _, err := w.Put(ctx, record.Row{record.NumericValue(c), record.TextValue("a")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Put(ctx, record.Row{record.NumericValue("010.000"), record.TextValue("dup")}); !errors.Is(err, ErrKey) {
		t.Fatalf("10 and 010.000 in one full run: %v", err)
	}
	w.Abort()
	w, _ = Create(ctx, path+"2", "d", ns, opts)
	for _, c := range []string{"1.0", "2", "10"} {
		w.Put(ctx, record.Row{record.NumericValue(c), record.TextValue("a")})
	}
	w.Commit()
	w, err := Merge(ctx, path+"2", "d", ns, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := w.Put(ctx, record.Row{record.NumericValue("1.00"), record.TextValue("a2")}); err != nil || c != Updated {
		t.Fatalf("1.00 over 1.0: %v %v", c, err)
	}
	w.Commit()
	r, _ := Open(ctx, path+"2")
	defer r.Close()
	var got []string
	for r.Next() {
		got = append(got, r.Row()[0].String()+"="+r.Row()[1].String())
	}
	// One row per value, in numeric order (2 before 10).
	if want := "1.00=a2 2=a 10=a"; strings.Join(got, " ") != want {
		t.Fatalf("rows %v, want %s", got, want)
	}
}
