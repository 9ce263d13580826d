package snapshot

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/countydatasync/countysync/internal/record"
)

// sortKey is one key (or keyless cursor) value in the form the snapshot
// stores it: an SQLite INTEGER, TEXT or BLOB chosen so that SQLite's own
// comparison (integers below text below blobs; text and blobs byte by
// byte) orders values as PostgreSQL orders the column (text under
// COLLATE "C"), and so that equal values store equal keys whatever their
// text: numeric 1.0 and 1.00 are one key.
//
//	integer, boolean       INTEGER, the value
//	text, uuid             TEXT, the text (uuid: canonical lower case)
//	numeric                BLOB, an order-preserving decimal encoding
//	float                  BLOB, an order-preserving IEEE encoding (-0 = 0)
//	date, timestamp(tz)    BLOB, class (-infinity, finite, infinity), seconds, nanoseconds
//	bytes                  BLOB, the bytes
//	json, array, geometry  TEXT, the value's text (no useful order)
type sortKey struct {
	class int // 1 INTEGER, 2 TEXT, 3 BLOB (SQLite's order of storage classes)
	i     int64
	b     []byte // TEXT or BLOB
}

// compare orders two keys as SQLite orders the stored values.
func (a sortKey) compare(b sortKey) int {
	if c := cmp.Compare(a.class, b.class); c != 0 {
		return c
	}
	if a.class == 1 {
		return cmp.Compare(a.i, b.i)
	}
	return bytes.Compare(a.b, b.b)
}

// arg is the key as a database/sql argument.
func (a sortKey) arg() any {
	switch a.class {
	case 1:
		return a.i
	case 2:
		return string(a.b)
	}
	return a.b
}

// keyOf encodes v, reusing buf for its bytes. v must not be NULL.
func keyOf(v *record.Value, buf []byte) sortKey {
	switch v.Kind {
	case record.Int, record.Bool:
		return sortKey{class: 1, i: v.I}
	case record.Text, record.UUID:
		return sortKey{class: 2, b: append(buf[:0], v.S...)}
	case record.Numeric:
		return sortKey{class: 3, b: appendDecimalKey(buf[:0], v.S)}
	case record.Float:
		return sortKey{class: 3, b: appendFloatKey(buf[:0], v.F)}
	case record.Date, record.Timestamp, record.TimestampTZ:
		return sortKey{class: 3, b: appendTimeKey(buf[:0], v)}
	case record.Bytes:
		return sortKey{class: 3, b: append(buf[:0], v.B...)}
	}
	return sortKey{class: 2, b: record.AppendText(buf[:0], v)}
}

// appendTimeKey writes a temporal value: a class byte (0 -infinity, 1
// finite, 2 infinity), then the Unix seconds with the sign bit flipped and
// the nanoseconds, big-endian.
func appendTimeKey(dst []byte, v *record.Value) []byte {
	switch {
	case strings.HasPrefix(v.S, "-"):
		return append(dst, 0)
	case v.S != "":
		return append(dst, 2)
	}
	dst = append(dst, 1)
	dst = binary.BigEndian.AppendUint64(dst, uint64(v.T.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(dst, uint32(v.T.Nanosecond()))
}

// appendFloatKey writes f so that bytes compare as the numbers do; -0 is
// 0 and NaN sorts above +Inf (PostgreSQL's order).
func appendFloatKey(dst []byte, f float64) []byte {
	if math.IsNaN(f) {
		return append(dst, 0xff)
	}
	if f == 0 {
		f = 0
	}
	b := math.Float64bits(f)
	if b&(1<<63) != 0 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(append(dst, 1), b)
}

// appendDecimalKey writes exact decimal text so that bytes compare as the
// values do and equal values (1.0, 1.00, 01) write equal bytes. A class
// byte (1 -Infinity, 2 negative, 3 zero, 4 positive, 5 Infinity, 6 NaN)
// is followed, for non-zero numbers, by the decimal exponent (the number
// of digits before the point of the significand 0.d1d2…) and the
// significant digits without trailing zeros; negative numbers invert both
// and end in 0xff so that a longer significand sorts first. Text that is
// not a decimal number is written as class 7 and its text.
func appendDecimalKey(dst []byte, s string) []byte {
	switch s {
	case "NaN":
		return append(dst, 6)
	case "Infinity", "+Infinity", "inf", "+inf":
		return append(dst, 5)
	case "-Infinity", "-inf":
		return append(dst, 1)
	}
	neg := false
	t := s
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-'
		t = t[1:]
	}
	intPart, frac, _ := strings.Cut(t, ".")
	if !allDigits(intPart) || !allDigits(frac) || intPart+frac == "" {
		return append(append(dst, 7), s...)
	}
	digits := strings.TrimLeft(intPart, "0")
	exp := len(digits)
	if digits == "" {
		trimmed := strings.TrimLeft(frac, "0")
		exp = -(len(frac) - len(trimmed))
		digits = trimmed
	} else {
		digits += frac
	}
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		return append(dst, 3)
	}
	e := uint32(int32(exp)) ^ (1 << 31)
	if !neg {
		dst = binary.BigEndian.AppendUint32(append(dst, 4), e)
		return append(dst, digits...)
	}
	dst = binary.BigEndian.AppendUint32(append(dst, 2), ^e)
	for i := 0; i < len(digits); i++ {
		dst = append(dst, ^digits[i])
	}
	return append(dst, 0xff)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Orderable reports whether keys of kind k have an order a source can
// produce (every kind but json, array and geometry).
func Orderable(k record.Kind) bool {
	switch k {
	case record.JSON, record.Array, record.Geometry:
		return false
	}
	return true
}

// keyString renders a key for messages: "id=17, code=2".
func keyString(schema *record.Schema, keys []int, row record.Row) string {
	var b strings.Builder
	for j, i := range keys {
		if j > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%s", schema.Columns[i].Name, row[i].String())
	}
	return b.String()
}
