package sqlite

import "github.com/countydatasync/countysync/internal/record"

// SortKey sorts text byte by byte (COLLATE BINARY), whatever collation the
// column was declared with; other kinds sort by value (source.KeySorter).
func (s *Source) SortKey(quoted string, kind record.Kind) string {
	if kind == record.Text {
		return quoted + ` COLLATE BINARY`
	}
	return quoted
}
