package sqlite

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/countydatasync/countysync/internal/record"
)

// class is how a column's declared type maps values.
type class uint8

const (
	clsStorage class = iota // by storage class
	clsInt
	clsFloat
	clsNumeric
	clsBool
	clsDate
	clsTimestamp
	clsText
	clsJSON
	clsBytes
	clsGeometry
)

var geometryTypes = map[string]bool{
	"GEOMETRY": true, "GEOMETRYCOLLECTION": true, "POINT": true, "LINESTRING": true, "POLYGON": true,
	"MULTIPOINT": true, "MULTILINESTRING": true, "MULTIPOLYGON": true, "CIRCULARSTRING": true,
	"COMPOUNDCURVE": true, "CURVEPOLYGON": true, "MULTICURVE": true, "MULTISURFACE": true,
	"CURVE": true, "SURFACE": true, "TRIANGLE": true, "TIN": true, "POLYHEDRALSURFACE": true,
}

// classify maps a declared column type to its class and schema kind.
func classify(decl string) (class, record.Kind) {
	u := strings.ToUpper(strings.TrimSpace(decl))
	if i := strings.IndexByte(u, '('); i >= 0 {
		u = strings.TrimSpace(u[:i])
	}
	switch {
	case u == "":
		return clsStorage, record.Text
	case strings.HasPrefix(u, "BOOL"):
		return clsBool, record.Bool
	case u == "DATE":
		return clsDate, record.Date
	case strings.HasPrefix(u, "DATETIME"), strings.HasPrefix(u, "TIMESTAMP"):
		if strings.Contains(u, "TZ") || strings.Contains(u, "WITH TIME ZONE") {
			return clsTimestamp, record.TimestampTZ
		}
		return clsTimestamp, record.Timestamp
	case strings.HasPrefix(u, "JSON"):
		return clsJSON, record.JSON
	case geometryTypes[strings.TrimRight(u, " ZM")] || geometryTypes[u]:
		return clsGeometry, record.Geometry
	case strings.HasPrefix(u, "NUMERIC"), strings.HasPrefix(u, "DECIMAL"):
		return clsNumeric, record.Numeric
	case strings.Contains(u, "INT"):
		return clsInt, record.Int
	case strings.Contains(u, "CHAR"), strings.Contains(u, "CLOB"), strings.Contains(u, "TEXT"):
		return clsText, record.Text
	case strings.Contains(u, "BLOB"):
		return clsBytes, record.Bytes
	case strings.Contains(u, "REAL"), strings.Contains(u, "FLOA"), strings.Contains(u, "DOUB"):
		return clsFloat, record.Float
	}
	return clsStorage, record.Text
}

// convert maps one stored value of column i to a record.Value.
func (r *Rows) convert(i int, raw any) record.Value {
	switch x := raw.(type) {
	case nil:
		return record.Value{}
	case int64:
		switch r.classes[i] {
		case clsFloat:
			return record.FloatValue(float64(x))
		case clsNumeric:
			return record.NumericValue(strconv.FormatInt(x, 10))
		case clsBool:
			if x == 0 || x == 1 {
				return record.BoolValue(x == 1)
			}
		case clsJSON:
			return record.Value{Kind: record.JSON, S: strconv.FormatInt(x, 10)}
		}
		return record.IntValue(x)
	case float64:
		switch r.classes[i] {
		case clsNumeric:
			if record.IsFinite(x) {
				return record.NumericValue(formatNumeric(x))
			}
		case clsJSON:
			if record.IsFinite(x) {
				return record.Value{Kind: record.JSON, S: string(record.AppendFloat(nil, x))}
			}
		}
		return record.FloatValue(x)
	case []byte:
		if r.classes[i] == clsGeometry {
			return record.Value{Kind: record.Geometry, B: x}
		}
		return record.BytesValue(x)
	case string:
		if !utf8.ValidString(x) {
			x = strings.ToValidUTF8(x, "\uFFFD")
			r.invalid[i]++
		}
		return convertText(r.classes[i], x)
	case bool: // not expected: BOOLEAN columns are read unconverted
		return record.BoolValue(x)
	case time.Time: // not expected: DATE/DATETIME/TIMESTAMP columns are read unconverted
		return record.TimestampValue(x)
	}
	return record.TextValue(fmt.Sprint(raw))
}

// convertText maps a TEXT value by column class.
func convertText(c class, s string) record.Value {
	switch c {
	case clsNumeric:
		if record.IsJSONNumber(s) {
			return record.NumericValue(s)
		}
	case clsBool:
		switch strings.ToLower(s) {
		case "true", "t", "yes", "y", "1":
			return record.BoolValue(true)
		case "false", "f", "no", "n", "0":
			return record.BoolValue(false)
		}
	case clsDate:
		if len(s) == len(record.DateLayout) {
			if t, err := time.Parse(record.DateLayout, s); err == nil {
				return record.DateValue(t)
			}
		}
	case clsTimestamp:
		if t, hasZone, err := record.ParseTimestamp(s); err == nil {
			if hasZone {
				return record.TimestampTZValue(t)
			}
			return record.TimestampValue(t)
		}
		if len(s) == len(record.DateLayout) {
			if t, err := time.Parse(record.DateLayout, s); err == nil {
				return record.TimestampValue(t)
			}
		}
	case clsJSON:
		if jsonValid(s) {
			return record.Value{Kind: record.JSON, S: s}
		}
	case clsGeometry:
		return record.Value{Kind: record.Geometry, S: s}
	}
	return record.TextValue(s)
}

// formatNumeric renders a real stored in a NUMERIC column: the shortest
// decimal that round-trips, in plain notation unless the exponent is
// extreme.
func formatNumeric(f float64) string {
	if a := abs(f); a == 0 || (a >= 1e-7 && a < 1e21) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// jsonValid reports whether s is one valid JSON text.
func jsonValid(s string) bool { return json.Valid([]byte(s)) }
