package format

import (
	"math"
	"strconv"

	"github.com/countydatasync/countysync/internal/record"
)

// appendJSONValue appends v as a JSON value (the JSON column of
// docs/ARCHITECTURE.md, Values per format): the JSON writer uses it for
// every column and the GeoJSON writer for the properties.
func appendJSONValue(dst []byte, v *record.Value) []byte {
	switch v.Kind {
	case record.Null:
		return append(dst, "null"...)
	case record.Text, record.UUID:
		return record.AppendJSONString(dst, v.S)
	case record.Int:
		return strconv.AppendInt(dst, v.I, 10)
	case record.Float:
		return appendJSONFloat(dst, v.F)
	case record.Numeric:
		return appendJSONNumeric(dst, v.S)
	case record.Bool:
		if v.I != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case record.Date, record.Timestamp, record.TimestampTZ:
		if v.S != "" { // infinity / -infinity
			return record.AppendJSONString(dst, v.S)
		}
		dst = append(dst, '"')
		dst = record.AppendText(dst, v)
		return append(dst, '"')
	case record.JSON, record.Array:
		// Nested verbatim; text that is not one JSON value (a source
		// bug) is written as a string rather than corrupting the file.
		if isJSONText(v.S) {
			return append(dst, v.S...)
		}
		return record.AppendJSONString(dst, v.S)
	case record.Bytes:
		dst = append(dst, '"')
		dst = record.AppendText(dst, v) // base64: no character needs escaping
		return append(dst, '"')
	case record.Geometry:
		if v.G == nil { // did not decode: the source's own text
			if !undecoded(v) {
				return append(dst, "null"...)
			}
			return record.AppendJSONString(dst, string(appendUndecoded(nil, v)))
		}
		dst = append(dst, '"')
		dst = appendWKT(dst, v) // WKT: letters, digits, spaces, ( ) , . - +
		return append(dst, '"')
	}
	return append(dst, "null"...)
}

// appendJSONFloat appends f as the shortest JSON number that round-trips
// (ECMAScript style: plain notation for 1e-6 <= |f| < 1e21); NaN and the
// infinities have no JSON form and become null.
func appendJSONFloat(dst []byte, f float64) []byte {
	if !record.IsFinite(f) {
		return append(dst, "null"...)
	}
	abs := math.Abs(f)
	fmtc := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmtc = 'e'
	}
	dst = strconv.AppendFloat(dst, f, fmtc, -1, 64)
	if fmtc == 'e' {
		// "1e-07" -> "1e-7"
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendJSONNumeric appends the exact decimal digits of a numeric value as
// a bare JSON number. NaN and the infinities become null; text that is not
// a JSON number (never produced by PostgreSQL, possible from SQLite) is
// kept exactly, as a string.
func appendJSONNumeric(dst []byte, s string) []byte {
	if record.IsJSONNumber(s) {
		return append(dst, s...)
	}
	if isNonFiniteText(s) {
		return append(dst, "null"...)
	}
	return record.AppendJSONString(dst, s)
}

// isNonFiniteText reports whether s spells NaN or an infinity the way
// PostgreSQL and common sources print them.
func isNonFiniteText(s string) bool {
	switch s {
	case "NaN", "nan", "Infinity", "-Infinity", "+Infinity", "infinity", "-infinity", "+infinity", "inf", "-inf", "+inf", "Inf", "-Inf", "+Inf":
		return true
	}
	return false
}
