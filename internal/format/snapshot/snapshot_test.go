package snapshot

import (
	"context"
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
	w, err := Create(ctx, path, "d", schema, []string{"id"})
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

	w, err = Merge(ctx, path, "d", schema, []string{"id"})
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
	w, err := Create(ctx, filepath.Join(t.TempDir(), "s.sqlite"), "parcels", schema, []string{"id"})
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

func TestSchemaChangeNeedsFull(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.sqlite")
	w, _ := Create(ctx, path, "d", schema, []string{"id"})
	w.Commit()
	other := schema.Clone()
	other.Columns[1].Kind = record.Int
	if _, err := Merge(ctx, path, "d", other, []string{"id"}); err == nil || !strings.Contains(err.Error(), "--full") {
		t.Fatalf("merge with changed schema: %v", err)
	}
}

func TestAppendWithoutKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.sqlite")
	w, _ := Create(ctx, path, "d", schema, nil)
	w.Put(ctx, row(2, "x", time.Unix(0, 0)))
	w.Put(ctx, row(1, "y", time.Unix(0, 0)))
	w.Put(ctx, row(1, "y", time.Unix(0, 0))) // a true duplicate in the source stays
	w.Commit()
	w, _ = Merge(ctx, path, "d", schema, nil)
	// Re-read at the incremental boundary: already there, not appended.
	if c, err := w.Put(ctx, row(2, "x", time.Unix(0, 0))); err != nil || c != Unchanged {
		t.Fatalf("re-read row: %v %v", c, err)
	}
	// New rows are appended, even twice in the same run.
	for i := 0; i < 2; i++ {
		if c, err := w.Put(ctx, row(3, "z", time.Unix(0, 0))); err != nil || c != Inserted {
			t.Fatalf("new row %d: %v %v", i, c, err)
		}
	}
	w.Commit()
	got := readAll(t, path)
	if len(got) != 5 || !strings.HasPrefix(got[0], "2|x") || !strings.HasPrefix(got[1], "1|y") || !strings.HasPrefix(got[4], "3|z") {
		t.Fatalf("append order: %v", got)
	}
}
