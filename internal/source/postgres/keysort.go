package postgres

import "github.com/countydatasync/countysync/internal/record"

// SortKey sorts text byte by byte (COLLATE "C"), whatever the database's
// collation; other kinds sort by value (source.KeySorter).
func (s *Source) SortKey(quoted string, kind record.Kind) string {
	if kind == record.Text {
		return quoted + ` COLLATE "C"`
	}
	return quoted
}
