package format

import (
	"fmt"
	"strconv"

	"github.com/countydatasync/countysync/internal/record"
)

// DefaultPrecision is the number of decimals of GeoJSON coordinates when
// Options.Precision is not set (RFC 7946 §11.2 suggests 6-7 are enough).
const DefaultPrecision = 7

const (
	geojsonHead  = `{"type":"FeatureCollection","features":[`
	geojsonEmpty = geojsonHead + "]}\n"
	geojsonTail  = "\n]}\n"
)

// geojsonWriter writes an RFC 7946 FeatureCollection, one feature per line:
//
//	{"type":"FeatureCollection","features":[
//	{"type":"Feature","id":17,"geometry":{...},"properties":{...}},
//	...
//	]}
//
// There is no "crs" member (RFC 7946 coordinates are WGS 84 lon/lat). The id
// is the first key column (a number for integers, a string otherwise, left
// out when NULL); the geometry is Options.GeometryColumn rendered by
// package geometry (null when NULL, unparsed, empty or absent); the
// properties are all other columns, rendered as the JSON writer does.
type geojsonWriter struct {
	dataset   string
	cols      []record.Column
	keys      [][]byte // `"name":` per column
	keyIdx    []int    // key columns, for the feature id and error messages
	geomIdx   int      // -1 without a geometry column
	precision int
	out       *fileOut
	buf       []byte
	rows      int64
}

func newGeoJSON(path string, opts Options, keyIdx []int, geomIdx int) (*geojsonWriter, error) {
	out, err := createOut(opts.Dataset, "geojson", path)
	if err != nil {
		return nil, err
	}
	prec := opts.Precision
	if prec <= 0 {
		prec = DefaultPrecision
	}
	return &geojsonWriter{
		dataset:   opts.Dataset,
		cols:      opts.Schema.Columns,
		keys:      jsonKeys(opts.Schema.Columns),
		keyIdx:    keyIdx,
		geomIdx:   geomIdx,
		precision: prec,
		out:       out,
		buf:       make([]byte, 0, 4096),
	}, nil
}

// WriteRow implements Writer.
func (w *geojsonWriter) WriteRow(r record.Row) error {
	if w.out.f == nil {
		return fmt.Errorf("dataset %s: geojson: %w", w.dataset, errClosed)
	}
	if err := checkRow(w.dataset, r, len(w.cols)); err != nil {
		return err
	}
	b := w.buf[:0]
	if w.rows == 0 {
		b = append(b, geojsonHead+"\n"...)
	} else {
		b = append(b, ",\n"...)
	}
	b = append(b, `{"type":"Feature"`...)
	if len(w.keyIdx) > 0 {
		if v := &r[w.keyIdx[0]]; v.Kind != record.Null {
			b = append(b, `,"id":`...)
			b = appendFeatureID(b, v)
		}
	}
	b = append(b, `,"geometry":`...)
	if w.geomIdx < 0 {
		b = append(b, "null"...)
	} else if v := &r[w.geomIdx]; v.Kind != record.Geometry || v.G == nil {
		// NULL, or a geometry that did not parse (already reported).
		b = append(b, "null"...)
	} else {
		var err error
		if b, err = appendGeoJSONGeometry(b, v, w.precision); err != nil {
			w.buf = b[:0]
			return fmt.Errorf("dataset %s, column %s, %s: %w", w.dataset, w.cols[w.geomIdx].Name, w.rowName(r), err)
		}
	}
	b = append(b, `,"properties":{`...)
	first := true
	for i := range r {
		if i == w.geomIdx {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, w.keys[i]...)
		b = appendJSONValue(b, &r[i])
	}
	b = append(b, "}}"...)
	w.buf = b
	w.rows++
	if err := w.out.write(b); err != nil {
		return fmt.Errorf("dataset %s: geojson: %w", w.dataset, err)
	}
	return nil
}

// appendFeatureID appends a feature id: a JSON number for integers, a
// string of the value's canonical text otherwise.
func appendFeatureID(b []byte, v *record.Value) []byte {
	switch v.Kind {
	case record.Int:
		return strconv.AppendInt(b, v.I, 10)
	case record.Text, record.UUID, record.Numeric, record.JSON, record.Array:
		return record.AppendJSONString(b, v.S)
	case record.Date, record.Timestamp, record.TimestampTZ:
		if v.S != "" {
			return record.AppendJSONString(b, v.S)
		}
	case record.Geometry:
		if v.G == nil {
			return append(b, "null"...)
		}
		b = append(b, '"')
		b = appendWKT(b, v)
		return append(b, '"')
	}
	// Float, Bool, temporal, Bytes: canonical text needs no escaping.
	b = append(b, '"')
	b = record.AppendText(b, v)
	return append(b, '"')
}

// rowName names a row in error messages by its key ("id=17"), or by its
// position when the dataset has no key columns.
func (w *geojsonWriter) rowName(r record.Row) string {
	return keyString(w.cols, w.keyIdx, r, w.rows+1)
}

// keyString renders "k1=v1, k2=v2" for the key columns of r, or "row N"
// when there are none.
func keyString(cols []record.Column, keyIdx []int, r record.Row, rowNum int64) string {
	if len(keyIdx) == 0 {
		return "row " + strconv.FormatInt(rowNum, 10)
	}
	var b []byte
	for n, i := range keyIdx {
		if n > 0 {
			b = append(b, ", "...)
		}
		b = append(b, cols[i].Name...)
		b = append(b, '=')
		b = appendKeyText(b, &r[i])
	}
	return string(b)
}

// appendKeyText appends a key value for a message: bare for numbers,
// quoted for text, NULL for null.
func appendKeyText(b []byte, v *record.Value) []byte {
	switch v.Kind {
	case record.Null:
		return append(b, "NULL"...)
	case record.Int, record.Float, record.Numeric, record.Bool:
		return record.AppendText(b, v)
	case record.Geometry:
		if v.G == nil {
			return append(b, "NULL"...)
		}
		return strconv.AppendQuote(b, string(appendWKT(nil, v)))
	}
	return strconv.AppendQuote(b, string(record.AppendText(nil, v)))
}

// Close implements Writer.
func (w *geojsonWriter) Close() error {
	if w.out.f != nil {
		tail := geojsonTail
		if w.rows == 0 {
			tail = geojsonEmpty
		}
		w.out.write([]byte(tail))
	}
	if err := w.out.close(); err != nil {
		return fmt.Errorf("dataset %s: geojson: %w", w.dataset, err)
	}
	return nil
}
