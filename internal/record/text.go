package record

import (
	"encoding/base64"
	"strconv"
	"time"
)

// Layouts of the textual forms of temporal values (docs/ARCHITECTURE.md,
// Values per format): dates are ISO days, timestamptz is RFC 3339 in UTC
// with "Z", timestamp has no offset; both keep microseconds (trailing
// zeros trimmed).
const (
	DateLayout        = "2006-01-02"
	TimestampLayout   = "2006-01-02T15:04:05.999999"
	TimestampTZLayout = "2006-01-02T15:04:05.999999Z"
)

// AppendText appends the canonical text form of a non-geometry, non-null
// value: the form CSV writes and the form JSON writes inside quotes for
// string-typed kinds. Geometry values are rendered by package geometry;
// here they append their WKT text if they carry it. Null appends nothing.
func AppendText(dst []byte, v *Value) []byte {
	switch v.Kind {
	case Null:
		return dst
	case Text, Numeric, UUID, JSON, Array:
		return append(dst, v.S...)
	case Int:
		return strconv.AppendInt(dst, v.I, 10)
	case Float:
		return AppendFloat(dst, v.F)
	case Bool:
		if v.I != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case Date:
		if v.S != "" {
			return append(dst, v.S...)
		}
		return v.T.AppendFormat(dst, DateLayout)
	case Timestamp:
		if v.S != "" {
			return append(dst, v.S...)
		}
		return v.T.AppendFormat(dst, TimestampLayout)
	case TimestampTZ:
		if v.S != "" {
			return append(dst, v.S...)
		}
		return v.T.UTC().AppendFormat(dst, TimestampTZLayout)
	case Bytes:
		n := base64.StdEncoding.EncodedLen(len(v.B))
		dst = grow(dst, n)
		base64.StdEncoding.Encode(dst[len(dst):len(dst)+n], v.B)
		return dst[:len(dst)+n]
	case Geometry:
		return append(dst, v.S...)
	}
	return dst
}

// String returns the canonical text of v (see AppendText).
func (v *Value) String() string { return string(AppendText(nil, v)) }

// AppendFloat appends the shortest decimal that round-trips f, the way
// PostgreSQL 12+ prints float8: plain digits unless the decimal exponent is
// below -4 or at least 15, then exponent form ("1e+21", "1.5e-07"). NaN and
// infinities append "NaN", "Infinity" and "-Infinity"; JSON writers handle
// those before calling this.
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case f != f:
		return append(dst, "NaN"...)
	case f > 1.7976931348623157e308:
		return append(dst, "Infinity"...)
	case f < -1.7976931348623157e308:
		return append(dst, "-Infinity"...)
	case f == 0:
		return append(dst, '0')
	}
	a := f
	if a < 0 {
		a = -a
	}
	if a < 1e-4 || a >= 1e15 {
		return strconv.AppendFloat(dst, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// IsFinite reports whether f is neither NaN nor an infinity.
func IsFinite(f float64) bool {
	return f == f && f <= 1.7976931348623157e308 && f >= -1.7976931348623157e308
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// ParseTimestamp parses the textual timestamp forms that sources hand us
// (ISO 8601 with "T" or space, optional fraction, optional offset). It
// reports whether the text carried an offset.
func ParseTimestamp(s string) (t time.Time, hasZone bool, err error) {
	for _, layout := range zoneLayouts {
		if t, err = time.Parse(layout, s); err == nil {
			return t, true, nil
		}
	}
	for _, layout := range plainLayouts {
		if t, err = time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, false, nil
		}
	}
	return time.Time{}, false, err
}

var zoneLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04Z07:00",
}

var plainLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
}
