package transform

import (
	"errors"
	"testing"
	"time"

	"github.com/countydatasync/countysync/internal/record"
)

// FuzzCompileApply compiles arbitrary expressions and applies them to a row
// holding every common kind of value. Neither step may panic, and a failed
// Apply must be a *RowError that leaves the row unchanged. The committed
// corpus is in testdata/fuzz/FuzzCompileApply.
func FuzzCompileApply(f *testing.F) {
	for _, seed := range []struct {
		expr, text string
		n          int64
	}{
		{"round(value, 2)", "1.005", 2},
		{"upper(value)", "straße", 0},
		{"row.t + ' ' + row.j.a", "x", 1},
		{"value * 2 + 1.5", "-0.5", -3},
		{"substr(value, row.i, 2)", "héllo", 2},
		{"coalesce(nullif(value, ''), 'none')", "", 0},
	} {
		f.Add(seed.expr, seed.text, seed.n)
	}
	schema := schemaOf(col("t", record.Text), col("i", record.Int), col("n", record.Numeric),
		col("f", record.Float), col("b", record.Bool), col("ts", record.TimestampTZ),
		col("j", record.JSON), col("z", record.Text))
	f.Fuzz(func(t *testing.T, src, text string, n int64) {
		exprs := map[string]string{}
		for _, c := range schema.Columns {
			exprs[c.Name] = src
		}
		s, err := Compile(exprs)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile error of type %T: %v", err, err)
			}
			return
		}
		b, _, err := s.Bind(schema)
		if err != nil {
			return // the expression names a column that is not in the schema
		}
		num := record.NumericValue(text)
		if _, err := ParseDecimal(text); err != nil {
			num = record.NumericValue("12.50")
		}
		row := record.Row{
			record.TextValue(text), record.IntValue(n), num, record.FloatValue(float64(n) / 3),
			record.BoolValue(n%2 == 0), record.TimestampTZValue(time.Unix(n%1e10, 0)),
			{Kind: record.JSON, S: `{"a":"x","n":[1,2.5,null]}`}, {},
		}
		orig := row.Clone()
		if err := b.Apply(row); err != nil {
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("Apply error of type %T: %v", err, err)
			}
			for i := range row {
				if row[i].Kind != orig[i].Kind || row[i].S != orig[i].S || row[i].I != orig[i].I {
					t.Fatalf("failed Apply changed column %d", i)
				}
			}
			return
		}
		for i, v := range row {
			if v.Kind != record.Null && v.Kind != schema.Columns[i].Kind {
				t.Fatalf("column %d: result kind %s, column kind %s", i, v.Kind, schema.Columns[i].Kind)
			}
		}
	})
}
