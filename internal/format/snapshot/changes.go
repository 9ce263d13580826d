package snapshot

import (
	"fmt"
	"slices"

	"github.com/countydatasync/countysync/internal/record"
)

// Changes lists, one sentence each, how a query's rows of schema with
// opts differ from the snapshot described by old: columns added, dropped,
// renamed (a column that kept its place and kind under a new name),
// retyped (another kind, or another source type such as numeric(10,2) to
// numeric(12,4), which changes the values' text) or moved, key columns or
// the keyless cursor changed. Nil means the rows can be merged into the
// snapshot if its layout is current (Info.Current).
func Changes(old *Info, schema *record.Schema, opts Options) []string {
	var out []string
	if !slices.Equal(old.Options.Keys, opts.Keys) {
		out = append(out, fmt.Sprintf("key columns changed from %v to %v", old.Options.Keys, opts.Keys))
	}
	cursor := opts.Cursor
	if len(opts.Keys) > 0 {
		cursor = ""
	}
	if old.Current() && old.Options.Cursor != cursor {
		out = append(out, fmt.Sprintf("incremental.column changed from %q to %q", old.Options.Cursor, cursor))
	}
	a, b := old.Schema.Columns, schema.Columns
	renamed := map[string]bool{} // old names renamed
	added := map[string]bool{}   // new names that are renames, not additions
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].Name != b[i].Name && a[i].Kind == b[i].Kind && schema.Index(a[i].Name) < 0 && old.Schema.Index(b[i].Name) < 0 {
			out = append(out, fmt.Sprintf("column %s renamed to %s", a[i].Name, b[i].Name))
			renamed[a[i].Name], added[b[i].Name] = true, true
		}
	}
	for _, c := range a {
		j := schema.Index(c.Name)
		switch {
		case renamed[c.Name]:
		case j < 0:
			out = append(out, fmt.Sprintf("column %s (%s) dropped", c.Name, c.Kind))
		case b[j].Kind != c.Kind:
			out = append(out, fmt.Sprintf("column %s changed from %s to %s", c.Name, c.Kind, b[j].Kind))
		case c.SourceType != "" && b[j].SourceType != "" && c.SourceType != b[j].SourceType:
			out = append(out, fmt.Sprintf("column %s changed from %s to %s", c.Name, c.SourceType, b[j].SourceType))
		}
	}
	for _, c := range b {
		if old.Schema.Index(c.Name) < 0 && !added[c.Name] {
			out = append(out, fmt.Sprintf("column %s (%s) added", c.Name, c.Kind))
		}
	}
	if len(out) == 0 && !slices.Equal(old.Schema.Names(), schema.Names()) {
		out = append(out, fmt.Sprintf("columns reordered from %v to %v", old.Schema.Names(), schema.Names()))
	}
	return out
}

// Current reports whether the snapshot has this version's layout; a
// snapshot of an older layout cannot be merged into and is rebuilt.
func (i *Info) Current() bool { return i.Version == formatVersion }
