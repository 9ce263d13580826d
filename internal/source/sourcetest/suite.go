package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/source"
)

// Table describes a table for a Harness to create.
type Table struct {
	// Name is a plain lower-case name that needs no quoting.
	Name    string
	Columns []Column
	// Rows are inserted in order; each has one value per column, of the
	// column's kind, or NULL (the zero record.Value).
	Rows [][]record.Value
}

// Column is one column of a Table.
type Column struct {
	// Name may need quoting: it can hold spaces, upper-case letters and
	// double quotes.
	Name string
	// Kind is one of
	//
	//	record.Int          a 64-bit integer
	//	record.Text         UTF-8 text, without NUL
	//	record.Numeric      an exact decimal; the suite's values have at most
	//	                    15 significant digits and no trailing zeros, and a
	//	                    driver must return those digits as written
	//	record.Timestamp    µs, without zone; the value's T is the wall clock, in UTC
	//	record.TimestampTZ  an instant, µs
	//	record.Bool
	Kind record.Kind
}

// Harness adapts a driver to the suite.
type Harness interface {
	// Open creates a new database holding the tables, in the driver's own
	// SQL: each column with the driver's type for its kind, each row
	// inserted. It returns a Source on that database and releases both
	// when t ends. It fails t on errors, and skips t (fails it under
	// CI=true, see testsvc.Need) when the driver's database is a service
	// that is not configured.
	Open(t *testing.T, tables ...Table) source.Source
}

// Run runs the conformance suite against the driver h adapts. It calls
// h.Open once, on t itself and before any subtest, so a missing service
// skips (or fails) the whole test rather than every subtest; the subtests
// only read, and share the Source.
func Run(t *testing.T, h Harness) {
	t.Helper()
	src := h.Open(t, parcels)
	t.Run("Schema", func(t *testing.T) { testSchema(t, src) })
	t.Run("Values", func(t *testing.T) { testValues(t, src) })
	t.Run("RowReuse", func(t *testing.T) { testRowReuse(t, src) })
	t.Run("Filter", func(t *testing.T) { testFilter(t, src) })
	t.Run("FilterNullError", func(t *testing.T) { testFilterNullError(t, src) })
	t.Run("FilterErrors", func(t *testing.T) { testFilterErrors(t, src) })
	t.Run("OrderedRead", func(t *testing.T) { testOrderedRead(t, src) })
	t.Run("QueryText", func(t *testing.T) { testQueryText(t, src) })
	t.Run("QuotedIdentifiers", func(t *testing.T) { testQuotedIdentifiers(t, src) })
	t.Run("EarlyClose", func(t *testing.T) { testEarlyClose(t, src) })
	t.Run("ErrAfterExhaustion", func(t *testing.T) { testErrAfterExhaustion(t, src) })
	t.Run("BadQuery", func(t *testing.T) { testBadQuery(t, src) })
}

// The fixture. boundary is the cursor value most filters start at; rows 2
// and 3 sit exactly on it, rows 1 and 4 one microsecond either side.
var (
	boundary = time.Date(2025, 1, 1, 0, 0, 0, 2000, time.UTC)
	moonshot = time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)
	farAway  = time.Date(2099, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

const awkwardText = "quote \" apostrophe ' comma , newline \n tab \t backslash \\ end"

var parcels = func() Table {
	i, s, n := record.IntValue, record.TextValue, record.NumericValue
	ts, tz, b := record.TimestampValue, record.TimestampTZValue, record.BoolValue
	var null record.Value
	us := time.Microsecond
	return Table{
		Name: "parcels",
		Columns: []Column{
			{"id", record.Int}, {"name", record.Text}, {"acres", record.Numeric},
			{"seen", record.Timestamp}, {"changed", record.TimestampTZ}, {"active", record.Bool},
			{"Owner Name", record.Text}, {`Rank "A"`, record.Int},
		},
		Rows: [][]record.Value{
			{i(1), s("alpha"), n("1.0000000001"), ts(boundary.Add(-us)), tz(boundary.Add(-us)), b(true), s("Ada"), i(1)},
			{i(2), s("bravo"), n("1.0000000002"), ts(boundary), tz(boundary), b(false), s(""), i(2)},
			{i(3), s("charlie"), n("1.0000000002"), ts(boundary), tz(boundary), b(true), s(awkwardText), i(2)},
			{i(4), s("delta"), n("1.0000000003"), ts(boundary.Add(us)), tz(boundary.Add(us)), b(false), s("Zürich — 北京 🚀"), i(3)},
			{i(5), null, null, null, null, null, null, null},
			{i(6), s("aardvark"), n("0.5"), ts(moonshot), tz(moonshot), b(false), s("Owner 6"), i(math.MinInt64)},
			{i(7), s("echo"), n("1000000"), ts(farAway), tz(farAway), b(true), null, i(math.MaxInt64)},
		},
	}
}()

const allParcels = "SELECT * FROM parcels ORDER BY id"

// bigQuery yields the integers 1 to 100000 in column x, in both SQL
// dialects, without a table.
const bigQuery = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 100000) SELECT x FROM c`

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// ids returns the id column (the first) of rows, sorted: the filter
// wrapper adds no ORDER BY of its own.
func ids(rows []record.Row) string {
	var out []int64
	for _, r := range rows {
		out = append(out, r[0].I)
	}
	slices.Sort(out)
	return strings.Trim(fmt.Sprint(out), "[]")
}

func checkSchema(t *testing.T, what string, got *record.Schema, want []Column) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil schema", what)
	}
	var g, w []string
	for _, c := range got.Columns {
		g = append(g, fmt.Sprintf("%q %s", c.Name, c.Kind))
	}
	for _, c := range want {
		w = append(w, fmt.Sprintf("%q %s", c.Name, c.Kind))
	}
	if !slices.Equal(g, w) {
		t.Errorf("%s: schema\n got %v\nwant %v", what, g, w)
	}
}

func testSchema(t *testing.T, src source.Source) {
	cases := []struct {
		name, query string
		filter      *source.Filter
		want        []Column
	}{
		{"all columns", allParcels, nil, parcels.Columns},
		{"filtered", allParcels, &source.Filter{Column: "id", Min: record.IntValue(3)}, parcels.Columns},
		{"empty result", "SELECT * FROM parcels WHERE id < 0", nil, parcels.Columns},
		{"empty filtered result", "SELECT * FROM parcels", &source.Filter{Column: "id", Min: record.IntValue(100)}, parcels.Columns},
		{"renamed subset", `SELECT "Owner Name" AS "Who Owns", id, "Rank ""A""" AS rank FROM parcels`, nil,
			[]Column{{"Who Owns", record.Text}, {"id", record.Int}, {"rank", record.Int}}},
	}
	for _, c := range cases {
		rows, err := src.Query(ctxT(t), c.query, c.filter)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// Before the first Next.
		checkSchema(t, c.name, rows.Schema(), c.want)
		n := 0
		for rows.Next() {
			n++
			if len(rows.Row()) != len(c.want) {
				t.Errorf("%s: row %d has %d values, the schema %d columns", c.name, n, len(rows.Row()), len(c.want))
			}
		}
		if err := rows.Err(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		checkSchema(t, c.name+", after the last row", rows.Schema(), c.want)
		rows.Close()
	}
}

func testValues(t *testing.T, src source.Source) {
	_, rows := Collect(t, src, allParcels, nil)
	if len(rows) != len(parcels.Rows) {
		t.Fatalf("got %d rows, want %d", len(rows), len(parcels.Rows))
	}
	for i, row := range rows {
		for j, want := range parcels.Rows[i] {
			if !Equal(row[j], want) {
				t.Errorf("row %d, column %q (%s): got %s, want %s", i+1, parcels.Columns[j].Name, parcels.Columns[j].Kind, Describe(row[j]), Describe(want))
			}
		}
	}
}

// testRowReuse checks the Row contract: Row repeats the current row until
// Next, and a caller that scribbles over it (the pipeline edits rows in
// place) does not change the rows that follow. Rows with values, all NULL
// and values again follow each other in the fixture, so a value left over
// from the row before shows.
func testRowReuse(t *testing.T, src source.Source) {
	rows, err := src.Query(ctxT(t), allParcels, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if n >= len(parcels.Rows) {
			t.Fatalf("more than %d rows", len(parcels.Rows))
		}
		row := rows.Row()
		if len(row) != len(parcels.Columns) {
			t.Fatalf("row %d has %d values, want %d", n+1, len(row), len(parcels.Columns))
		}
		for j, want := range parcels.Rows[n] {
			if !Equal(row[j], want) {
				t.Errorf("row %d, column %q: got %s, want %s", n+1, parcels.Columns[j].Name, Describe(row[j]), Describe(want))
			}
		}
		again := rows.Row()
		for j, want := range parcels.Rows[n] {
			if !Equal(again[j], want) {
				t.Errorf("row %d, column %q, second call of Row: got %s, want %s", n+1, parcels.Columns[j].Name, Describe(again[j]), Describe(want))
			}
		}
		for j := range row {
			row[j] = record.Value{Kind: record.Bytes, I: 99, F: 1.5, S: "junk", B: []byte("junk"), T: time.Unix(1, 0), W: []byte("junk")}
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(parcels.Rows) {
		t.Errorf("got %d rows, want %d", n, len(parcels.Rows))
	}
}

func testFilter(t *testing.T, src source.Source) {
	us := time.Microsecond
	ist := time.FixedZone("IST", 5*3600+1800)
	cases := []struct {
		name string
		f    source.Filter
		want string
	}{
		{"int", source.Filter{Column: "id", Min: record.IntValue(4), Nulls: source.NullSkip}, "4 5 6 7"},
		{"int ties and extremes, skip", source.Filter{Column: `Rank "A"`, Min: record.IntValue(2), Nulls: source.NullSkip}, "2 3 4 7"},
		{"int include", source.Filter{Column: `Rank "A"`, Min: record.IntValue(2), Nulls: source.NullInclude}, "2 3 4 5 7"},
		{"default policy is include", source.Filter{Column: `Rank "A"`, Min: record.IntValue(2)}, "2 3 4 5 7"},
		{"int minimum", source.Filter{Column: `Rank "A"`, Min: record.IntValue(math.MinInt64), Nulls: source.NullSkip}, "1 2 3 4 6 7"},
		{"int maximum", source.Filter{Column: `Rank "A"`, Min: record.IntValue(math.MaxInt64), Nulls: source.NullSkip}, "7"},
		{"text", source.Filter{Column: "name", Min: record.TextValue("bravo"), Nulls: source.NullSkip}, "2 3 4 7"},
		{"text include", source.Filter{Column: "name", Min: record.TextValue("bravo"), Nulls: source.NullInclude}, "2 3 4 5 7"},
		{"numeric ties", source.Filter{Column: "acres", Min: record.NumericValue("1.0000000002"), Nulls: source.NullSkip}, "2 3 4 7"},
		{"numeric with trailing zeros", source.Filter{Column: "acres", Min: record.NumericValue("1.00000000020"), Nulls: source.NullSkip}, "2 3 4 7"},
		{"numeric integer", source.Filter{Column: "acres", Min: record.NumericValue("1"), Nulls: source.NullSkip}, "1 2 3 4 7"},
		{"timestamp ties", source.Filter{Column: "seen", Min: record.TimestampValue(boundary), Nulls: source.NullSkip}, "2 3 4 7"},
		{"timestamp µs above the tie", source.Filter{Column: "seen", Min: record.TimestampValue(boundary.Add(us)), Nulls: source.NullSkip}, "4 7"},
		{"timestamp include", source.Filter{Column: "seen", Min: record.TimestampValue(boundary), Nulls: source.NullInclude}, "2 3 4 5 7"},
		{"timestamp before 1970", source.Filter{Column: "seen", Min: record.TimestampValue(moonshot), Nulls: source.NullSkip}, "1 2 3 4 6 7"},
		{"timestamptz ties", source.Filter{Column: "changed", Min: record.TimestampTZValue(boundary), Nulls: source.NullSkip}, "2 3 4 7"},
		{"timestamptz given in +05:30", source.Filter{Column: "changed", Min: record.Value{Kind: record.TimestampTZ, T: boundary.In(ist)}, Nulls: source.NullSkip}, "2 3 4 7"},
		{"timestamptz µs above the tie", source.Filter{Column: "changed", Min: record.TimestampTZValue(boundary.Add(us)), Nulls: source.NullSkip}, "4 7"},
		{"timestamptz below µs counts as the µs", source.Filter{Column: "changed", Min: record.TimestampTZValue(boundary.Add(999 * time.Nanosecond)), Nulls: source.NullSkip}, "2 3 4 7"},
		{"timestamptz include", source.Filter{Column: "changed", Min: record.TimestampTZValue(boundary), Nulls: source.NullInclude}, "2 3 4 5 7"},
		{"bool", source.Filter{Column: "active", Min: record.BoolValue(true), Nulls: source.NullSkip}, "1 3 7"},
		{"bool include", source.Filter{Column: "active", Min: record.BoolValue(true)}, "1 3 5 7"},
		{"no minimum, include", source.Filter{Column: "changed", Nulls: source.NullInclude}, "1 2 3 4 5 6 7"},
		{"no minimum, skip", source.Filter{Column: "changed", Nulls: source.NullSkip}, "1 2 3 4 6 7"},
		{"no minimum, skip, quoted column", source.Filter{Column: "Owner Name", Nulls: source.NullSkip}, "1 2 3 4 6"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			_, rows := Collect(t, src, allParcels, &f)
			if got := ids(rows); got != c.want {
				t.Errorf("got ids %s, want %s", got, c.want)
			}
		})
	}
	t.Run("values of filtered rows", func(t *testing.T) {
		_, rows := Collect(t, src, allParcels, &source.Filter{Column: "id", Min: record.IntValue(4)})
		for _, row := range rows {
			want := parcels.Rows[row[0].I-1]
			for j := range want {
				if !Equal(row[j], want[j]) {
					t.Errorf("id %d, column %q: got %s, want %s", row[0].I, parcels.Columns[j].Name, Describe(row[j]), Describe(want[j]))
				}
			}
		}
	})
}

func testFilterNullError(t *testing.T, src source.Source) {
	for _, f := range []source.Filter{
		{Column: "name", Min: record.TextValue("bravo"), Nulls: source.NullError},
		{Column: "name", Nulls: source.NullError},
		{Column: `Rank "A"`, Min: record.IntValue(2), Nulls: source.NullError},
	} {
		_, rows, err := collect(t, src, allParcels, &f)
		if err == nil {
			t.Errorf("cursor %q: NULL cursor under NullError gave no error (ids %s)", f.Column, ids(rows))
			continue
		}
		if !errors.Is(err, source.ErrQuery) || !source.IsPermanent(err) {
			t.Errorf("cursor %q: %v does not wrap ErrQuery", f.Column, err)
		}
		if f.Column == "name" && !strings.Contains(err.Error(), `"name"`) {
			t.Errorf("cursor %q: %v does not name the column", f.Column, err)
		}
	}
	// Without NULL cursors in the result, NullError changes nothing.
	noNulls := "SELECT * FROM parcels WHERE id <> 5"
	_, rows := Collect(t, src, noNulls, &source.Filter{Column: "name", Min: record.TextValue("bravo"), Nulls: source.NullError})
	if got := ids(rows); got != "2 3 4 7" {
		t.Errorf("no NULLs: got ids %s, want 2 3 4 7", got)
	}
	_, rows = Collect(t, src, noNulls, &source.Filter{Column: "name", Nulls: source.NullError})
	if got := ids(rows); got != "1 2 3 4 6 7" {
		t.Errorf("no NULLs, no minimum: got ids %s, want 1 2 3 4 6 7", got)
	}
}

// testOrderedRead checks Filter.OrderBy: rows come in source.KeyOrder
// (integers numerically, text byte by byte), whatever the query's own
// ORDER BY, alone or with a cursor filter; keys the driver cannot order
// (numeric) leave the rows unordered and say so.
func testOrderedRead(t *testing.T, src source.Source) {
	inOrder := func(rows []record.Row) string {
		var out []string
		for _, r := range rows {
			out = append(out, fmt.Sprint(r[0].I))
		}
		return strings.Join(out, " ")
	}
	cases := []struct {
		name, query string
		f           source.Filter
		ordered     bool
		want        string // ids in the order returned; "" to compare as a set
	}{
		{"int key, query sorted the other way", "SELECT * FROM parcels ORDER BY id DESC", source.Filter{OrderBy: []string{"id"}}, true, "1 2 3 4 5 6 7"},
		{"int key with extremes", "SELECT * FROM parcels WHERE id <> 5 ORDER BY id", source.Filter{OrderBy: []string{`Rank "A"`, "id"}}, true, "6 1 2 3 4 7"},
		{"text key", "SELECT * FROM parcels WHERE id <> 5 ORDER BY id DESC", source.Filter{OrderBy: []string{"name"}}, true, "6 1 2 3 4 7"},
		// Bytes: "" < "Ada" < "Owner 6" < "Zürich…" < "quote…" (upper case before lower case).
		{"text key byte by byte", "SELECT * FROM parcels WHERE id NOT IN (5, 7) ORDER BY id", source.Filter{OrderBy: []string{"Owner Name"}}, true, "2 1 6 4 3"},
		{"with a cursor filter", "SELECT * FROM parcels WHERE id <> 5 ORDER BY id DESC", source.Filter{Column: "id", Min: record.IntValue(3), OrderBy: []string{"name", "id"}}, true, "6 3 4 7"},
		{"numeric key is not promised", "SELECT * FROM parcels ORDER BY id", source.Filter{OrderBy: []string{"acres"}}, false, ""},
		{"missing key column", "SELECT * FROM parcels ORDER BY id", source.Filter{OrderBy: []string{"nope"}}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			ctx := ctxT(t)
			rows, err := src.Query(ctx, c.query, &f)
			if err != nil {
				t.Fatal(err)
			}
			if rows.Ordered() != c.ordered {
				t.Errorf("Ordered() = %v before the first row, want %v", rows.Ordered(), c.ordered)
			}
			var got []record.Row
			for rows.Next() {
				got = append(got, rows.Row().Clone())
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			if c.want != "" && inOrder(got) != c.want {
				t.Errorf("ids in order %s, want %s", inOrder(got), c.want)
			}
			if c.want == "" && len(got) != len(parcels.Rows) {
				t.Errorf("%d rows, want all %d", len(got), len(parcels.Rows))
			}
		})
	}
}

func testFilterErrors(t *testing.T, src source.Source) {
	cases := []struct {
		name    string
		f       source.Filter
		mention string
	}{
		{"missing column", source.Filter{Column: "nope", Min: record.IntValue(1)}, "nope"},
		{"missing column, no minimum", source.Filter{Column: "nope"}, "nope"},
		{"column in another case", source.Filter{Column: "owner name", Nulls: source.NullSkip}, "owner name"},
		{"no column", source.Filter{Min: record.IntValue(1)}, ""},
		{"unknown NULL policy", source.Filter{Column: "id", Min: record.IntValue(1), Nulls: "sometimes"}, "sometimes"},
		{"cursor kind that cannot be compared", source.Filter{Column: "id", Min: record.BytesValue([]byte{1})}, ""},
	}
	for _, c := range cases {
		f := c.f
		_, rows, err := collect(t, src, allParcels, &f)
		if err == nil {
			t.Errorf("%s: no error (ids %s)", c.name, ids(rows))
			continue
		}
		if !errors.Is(err, source.ErrQuery) || !source.IsPermanent(err) {
			t.Errorf("%s: %v does not wrap ErrQuery", c.name, err)
		}
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: %v does not mention %q", c.name, err, c.mention)
		}
	}
}

func testQueryText(t *testing.T, src source.Source) {
	for _, q := range []string{
		"SELECT * FROM parcels;",
		"\n\tSELECT * FROM parcels ; ;\n",
		"SELECT * FROM parcels -- every parcel",
		"SELECT * FROM parcels /* every parcel */",
		"select *\nfrom parcels\nwhere id > 0\n",
	} {
		_, rows := Collect(t, src, q, nil)
		if got := ids(rows); got != "1 2 3 4 5 6 7" {
			t.Errorf("%q: got ids %s", q, got)
		}
		_, rows = Collect(t, src, q, &source.Filter{Column: "id", Min: record.IntValue(4)})
		if got := ids(rows); got != "4 5 6 7" {
			t.Errorf("%q with a filter: got ids %s, want 4 5 6 7", q, got)
		}
	}
}

func testQuotedIdentifiers(t *testing.T, src source.Source) {
	q := `SELECT id, "Owner Name", "Rank ""A""" AS "Odd ""Alias"" Here" FROM parcels`
	schema, rows := Collect(t, src, q, &source.Filter{Column: `Odd "Alias" Here`, Min: record.IntValue(2), Nulls: source.NullSkip})
	checkSchema(t, q, schema, []Column{{"id", record.Int}, {"Owner Name", record.Text}, {`Odd "Alias" Here`, record.Int}})
	if got := ids(rows); got != "2 3 4 7" {
		t.Errorf("filter on a quoted alias: got ids %s, want 2 3 4 7", got)
	}
	for _, row := range rows {
		want := parcels.Rows[row[0].I-1]
		if !Equal(row[1], want[6]) || !Equal(row[2], want[7]) {
			t.Errorf("id %d: got %s, %s, want %s, %s", row[0].I, Describe(row[1]), Describe(row[2]), Describe(want[6]), Describe(want[7]))
		}
	}
}

func testEarlyClose(t *testing.T, src source.Source) {
	for _, n := range []int{0, 1, 10} {
		for _, f := range []*source.Filter{nil, {Column: "x", Min: record.IntValue(50_001)}} {
			rows, err := src.Query(ctxT(t), bigQuery, f)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if !rows.Next() {
					t.Fatalf("row %d: Next false, Err %v", i+1, rows.Err())
				}
				if v := rows.Row()[0]; v.Kind != record.Int || (f != nil && v.I < 50_001) {
					t.Errorf("filter %v, row %d: %s", f != nil, i+1, Describe(v))
				}
			}
			rows.Close()
			rows.Close()
			if rows.Next() {
				t.Errorf("after %d rows and Close: Next returned true", n)
			}
			if err := rows.Err(); err != nil {
				t.Errorf("after %d rows and Close: Err %v", n, err)
			}
		}
	}
	// The source still answers, in full.
	_, rows := Collect(t, src, allParcels, nil)
	if len(rows) != len(parcels.Rows) {
		t.Errorf("after early closes: %d rows, want %d", len(rows), len(parcels.Rows))
	}
}

func testErrAfterExhaustion(t *testing.T, src source.Source) {
	for _, q := range []string{allParcels, "SELECT * FROM parcels WHERE id < 0", bigQuery} {
		rows, err := src.Query(ctxT(t), q, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			t.Errorf("%q: after %d rows: %v", q, n, err)
		}
		for i := 0; i < 2; i++ {
			if rows.Next() {
				t.Errorf("%q: Next true after it returned false", q)
			}
			if err := rows.Err(); err != nil {
				t.Errorf("%q: Err after exhaustion: %v", q, err)
			}
		}
		rows.Close()
		rows.Close()
		if rows.Next() || rows.Err() != nil {
			t.Errorf("%q: after Close: Next true or Err %v", q, rows.Err())
		}
	}
	// An error that ends iteration stays, and Next stays false.
	rows, err := src.Query(ctxT(t), allParcels, &source.Filter{Column: "name", Nulls: source.NullError})
	if err != nil {
		if !errors.Is(err, source.ErrQuery) {
			t.Fatalf("NullError: %v does not wrap ErrQuery", err)
		}
		return // the driver found the NULL before returning Rows
	}
	for rows.Next() {
	}
	first := rows.Err()
	if !errors.Is(first, source.ErrQuery) {
		t.Fatalf("NullError: Err %v does not wrap ErrQuery", first)
	}
	if rows.Next() || rows.Err() != first {
		t.Errorf("after the error: Next true or Err changed to %v", rows.Err())
	}
	rows.Close()
	if rows.Err() != first {
		t.Errorf("after Close: Err changed from %v to %v", first, rows.Err())
	}
}

func testBadQuery(t *testing.T, src source.Source) {
	for _, q := range []string{
		"SELECT * FROM no_such_table",
		"SELEC 1",
		"SELECT no_such_column FROM parcels",
		"",
		" ;\n ;",
	} {
		for _, f := range []*source.Filter{nil, {Column: "id", Min: record.IntValue(1)}} {
			_, rows, err := collect(t, src, q, f)
			t.Logf("%q, filter %v: %v", q, f != nil, err)
			if err == nil {
				t.Errorf("%q, filter %v: no error (%d rows)", q, f != nil, len(rows))
				continue
			}
			if !errors.Is(err, source.ErrQuery) || !source.IsPermanent(err) {
				t.Errorf("%q, filter %v: %v does not wrap ErrQuery", q, f != nil, err)
			}
			if errors.Is(err, source.ErrUnreachable) {
				t.Errorf("%q, filter %v: %v wraps ErrUnreachable", q, f != nil, err)
			}
		}
	}
	// A bad query leaves the source working.
	_, rows := Collect(t, src, allParcels, nil)
	if len(rows) != len(parcels.Rows) {
		t.Errorf("after bad queries: %d rows, want %d", len(rows), len(parcels.Rows))
	}
}
