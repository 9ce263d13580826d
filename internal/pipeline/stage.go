package pipeline

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/format"
	"github.com/countydatasync/countysync/internal/geometry"
	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/transform"
)

// stage turns source rows into the rows a dataset publishes: it applies the
// transformations (before the snapshot) and, just before rendering,
// decodes geometry and checks values, recording warnings.
type stage struct {
	dataset  string
	bound    *transform.Bound
	schema   *record.Schema // after transformations
	geomIdx  int
	keyIdx   []int
	strict   bool
	warnings *Warnings
	row      int64 // 1-based number of the current row, for messages
	// nonFinite counts NaN/Inf floats per column; reported once per column.
	nonFinite map[int]int64
	// wkt makes prepare render the geometry's WKT once per row (into
	// Value.W) for the formats that write WKT.
	wkt    bool
	wktBuf []byte
	// cursors keeps insane cursor values out of the watermark (incremental
	// reads; nil otherwise).
	cursors *cursorGuard
	// ll reprojects geometry for the lon/lat formats (reproject.go).
	ll lonLatStage
	// geomRows counts the non-NULL geometries prepared, geomBad those that
	// did not decode (or reproject), firstBad names the first of them.
	geomRows, geomBad int64
	firstBad          string
}

// renderWKTFor turns on the shared WKT rendering when two or more formats
// write WKT (csv, json, sqlite; not geojson or gpkg); a single one renders
// it on its own goroutine instead, which keeps the reading goroutine free.
func (s *stage) renderWKTFor(formats []string) {
	n := 0
	for _, f := range formats {
		if spec, _ := format.Lookup(f); spec.WritesWKT {
			n++
		}
	}
	s.wkt = n >= 2
}

// newStage builds the stage for rows of schema in. With transforms false
// (rendering a snapshot, whose rows were transformed at extract) only the
// render checks run.
func newStage(d *config.Dataset, in *record.Schema, strict bool, w *Warnings, transforms bool) (*stage, error) {
	s := &stage{dataset: d.Name, geomIdx: -1, strict: strict, warnings: w, nonFinite: map[int]int64{}}
	if d.Geometry != nil {
		s.ll.srid = d.Geometry.SRID
	}
	seen := make(map[string]bool, len(in.Columns))
	for _, c := range in.Columns {
		if seen[c.Name] {
			return nil, permanent(fmt.Errorf("dataset %s: column %q appears twice in the query result; give one an alias (AS …): file formats need unique column names",
				d.Name, c.Name))
		}
		seen[c.Name] = true
	}
	s.schema = in
	if d.Transform != nil && transforms {
		b, out, err := d.Transform.Bind(in)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		s.bound, s.schema = b, out
	}
	s.schema = s.schema.Clone()
	for _, k := range d.KeyColumns {
		i, err := s.schema.MustIndex(k)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: key_columns: %w", d.Name, err)
		}
		s.keyIdx = append(s.keyIdx, i)
	}
	if g := d.GeometryColumn(); g != "" {
		i, err := s.schema.MustIndex(g)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: geometry.column: %w", d.Name, err)
		}
		switch s.schema.Columns[i].Kind {
		case record.Geometry, record.Text, record.Bytes:
			s.schema.Columns[i].Kind = record.Geometry
		default:
			return nil, fmt.Errorf("dataset %s: geometry.column %q is %s; it must hold WKT text, WKB bytes or a PostGIS geometry",
				d.Name, g, s.schema.Columns[i].Kind)
		}
		s.geomIdx = i
	}
	return s, nil
}

// transform applies the dataset's transformations to row in place.
func (s *stage) transform(row record.Row) error {
	s.row++
	if s.bound == nil {
		return nil
	}
	if err := s.bound.Apply(row); err != nil {
		return permanent(fmt.Errorf("dataset %s, row %d (%s): %w", s.dataset, s.row, s.key(row), err))
	}
	return nil
}

// prepare decodes the geometry of row and checks its values; it runs once
// per row just before the row is rendered into every format.
func (s *stage) prepare(row record.Row) error {
	for i := range row {
		v := &row[i]
		switch v.Kind {
		case record.Float:
			if !record.IsFinite(v.F) {
				s.nonFinite[i]++
				if s.nonFinite[i] == 1 {
					s.warnings.Add("dataset %s, column %s, %s: value %s has no JSON form; written as null in json and geojson (first of possibly several)",
						s.dataset, s.schema.Columns[i].Name, s.key(row), record.AppendFloat(nil, v.F))
				}
			}
		case record.Text:
			if !utf8.ValidString(v.S) {
				v.S = strings.ToValidUTF8(v.S, "\uFFFD")
				s.warnings.Add("dataset %s, column %s, %s: invalid UTF-8 replaced with U+FFFD",
					s.dataset, s.schema.Columns[i].Name, s.key(row))
			}
		}
	}
	if s.geomIdx < 0 {
		return nil
	}
	v := &row[s.geomIdx]
	v.W, v.L = nil, nil
	switch v.Kind {
	case record.Null:
		return nil
	case record.Text:
		v.Kind = record.Geometry
	case record.Bytes:
		v.Kind = record.Geometry
	}
	g, err := geometry.Decode(v)
	what := "does not parse"
	if err == nil {
		v.G = s.assignSRID(g)
		var perr error
		if err, perr = s.lonLat(v, row); perr != nil {
			return perr
		}
		what = "cannot be reprojected"
	}
	s.geomRows++
	if err != nil {
		v.G, v.L = nil, nil
		msg := fmt.Sprintf("dataset %s, column %s, %s: geometry %s: %v",
			s.dataset, s.schema.Columns[s.geomIdx].Name, s.key(row), what, err)
		s.geomBad++
		if s.firstBad == "" {
			s.firstBad = msg
		}
		if s.strict {
			return permanent(fmt.Errorf("%s (--strict)", msg))
		}
		s.warnings.Add("%s; %s", msg, undecodedWritten)
		return nil
	}
	if s.wkt {
		s.wktBuf = geometry.AppendWKT(s.wktBuf[:0], v.G)
		v.W = s.wktBuf
	}
	return nil
}

// checkGeometryColumn fails the dataset when not one of its non-NULL
// geometries decoded: a column the product cannot read at all (a blob
// format it does not know) is not published as a success of null
// geometries. Some undecodable rows among readable ones stay warnings.
func (s *stage) checkGeometryColumn() error {
	if s.geomRows == 0 || s.geomBad < s.geomRows {
		return nil
	}
	return permanent(fmt.Errorf("dataset %s: none of the %d geometries of column %s could be used, so nothing was published; the first: %s",
		s.dataset, s.geomRows, s.schema.Columns[s.geomIdx].Name, strings.TrimPrefix(s.firstBad, "dataset "+s.dataset+", ")))
}

// undecodedWritten says where a geometry that does not decode goes.
const undecodedWritten = "kept as the source wrote it in csv, json and sqlite (bytes as hex EWKB), written as null in geojson and gpkg"

// key describes row for messages: "id=17" or "row 12" without keys.
func (s *stage) key(row record.Row) string {
	if len(s.keyIdx) == 0 {
		return fmt.Sprintf("row %d", s.row)
	}
	var b strings.Builder
	for j, i := range s.keyIdx {
		if j > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.schema.Columns[i].Name)
		b.WriteByte('=')
		b.WriteString(row[i].String())
	}
	return b.String()
}
