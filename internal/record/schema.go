package record

import "fmt"

// Column describes one column of a dataset.
type Column struct {
	// Name is the column name as the source reported it.
	Name string
	// Kind is the column's type. Individual values may still be Null.
	Kind Kind
	// SourceType is the source's own type name (for example "numeric(30,10)"
	// or "geometry"), kept for messages and for writers that want it.
	SourceType string
}

// Schema is the ordered list of columns of a dataset.
type Schema struct {
	Columns []Column
}

// Index returns the position of the named column, or -1.
func (s *Schema) Index(name string) int {
	for i, c := range s.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// MustIndex returns the position of the named column or an error naming it.
func (s *Schema) MustIndex(name string) (int, error) {
	if i := s.Index(name); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("column %q is not in the query result (columns: %v)", name, s.Names())
}

// Names returns the column names in order.
func (s *Schema) Names() []string {
	out := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		out[i] = c.Name
	}
	return out
}

// Clone returns a deep copy of the schema.
func (s *Schema) Clone() *Schema {
	return &Schema{Columns: append([]Column(nil), s.Columns...)}
}
