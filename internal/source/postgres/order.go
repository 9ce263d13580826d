package postgres

import (
	"strings"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/sqltext"
)

// orderClause returns the ORDER BY clause that sorts the result by the key
// columns keys in source.KeyOrder, or "" when one of them is missing or of
// a type whose key order PostgreSQL cannot produce: then the rows come in
// the query's own order.
//
// Integers, booleans and uuids sort by their value, which is the key
// order. Text sorts under COLLATE "C", byte by byte (the database is
// UTF-8 or ASCII-compatible, where the bytes order as the code points);
// bpchar through its output text, which keeps the trailing blanks its own
// comparison ignores. The sort is PostgreSQL's: from an index on the keys
// when one fits, else a sort node.
func orderClause(schema *record.Schema, types []*pgType, keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		i := schema.Index(k)
		if i < 0 || strings.Count(","+strings.Join(schema.Names(), ",")+",", ","+k+",") > 1 {
			return "" // missing, or ambiguous in the wrapper
		}
		col := sqltext.QuoteIdent(k)
		switch t := types[i]; t.dec {
		case decInt2, decInt4, decInt8, decBool, decUUID:
			parts = append(parts, col)
		case decTextBin:
			if t.padded {
				parts = append(parts, "format('%s', "+col+`) COLLATE "C"`)
			} else {
				parts = append(parts, col+` COLLATE "C"`)
			}
		default:
			return ""
		}
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}
