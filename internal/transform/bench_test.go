package transform

import (
	"testing"

	"github.com/countydatasync/countysync/internal/record"
)

func benchApply(b *testing.B, expr string, kind record.Kind, in record.Value) {
	schema := schemaOf(col("id", record.Int), col("c", kind))
	bound := mustBind(b, map[string]string{"c": expr}, schema)
	row := make(record.Row, 2)
	b.ReportAllocs()
	for b.Loop() {
		row[0], row[1] = record.IntValue(1), in
		if err := bound.Apply(row); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyRound is round(value, 2) on a numeric column, per row.
func BenchmarkApplyRound(b *testing.B) {
	benchApply(b, "round(value, 2)", record.Numeric, record.NumericValue("12345.6789"))
}

// BenchmarkApplyUpper is upper(value) on a text column, per row.
func BenchmarkApplyUpper(b *testing.B) {
	benchApply(b, "upper(value)", record.Text, record.TextValue("Main Street 12, Springfield"))
}

// BenchmarkApplyRowConcat is row.first + ' ' + row.last, per row.
func BenchmarkApplyRowConcat(b *testing.B) {
	schema := schemaOf(col("first", record.Text), col("last", record.Text), col("full", record.Text))
	bound := mustBind(b, map[string]string{"full": "row.first + ' ' + row.last"}, schema)
	row := make(record.Row, 3)
	b.ReportAllocs()
	for b.Loop() {
		row[0], row[1], row[2] = record.TextValue("Ann"), record.TextValue("Lee"), record.Value{}
		if err := bound.Apply(row); err != nil {
			b.Fatal(err)
		}
	}
}
