package geometry

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/record"
)

// maxDepth bounds the nesting of geometry collections in both WKB and WKT
// so hostile input cannot exhaust the stack.
const maxDepth = 32

// hexStackSize is the size of hex-decoded WKB that Decode handles without a
// heap allocation.
const hexStackSize = 1024

// Decode parses a Geometry value: v.B holding ISO WKB, EWKB (PostGIS), a
// GeoPackage geometry blob or a SpatiaLite blob, or v.S holding WKT, EWKT ("SRID=4326;POINT(1 2)")
// or hex-encoded (E)WKB. Text and Bytes values are accepted the same way. If
// v.G is already set it is returned as is.
//
// The geometry comes back with its SRID (0 when the input had none). Errors
// say what is wrong and where ("truncated WKB: need 16 bytes at offset 21,
// have 3", "WKT: expected ')' at position 17", "ring not closed ...",
// "coordinate is NaN ..."): positions and offsets count bytes from 0. NaN
// and infinite coordinates, unclosed rings, rings of fewer than 4 points
// and linestrings of a single point are errors, as in PostGIS. An all-NaN
// point in WKB is POINT EMPTY, as PostGIS writes it.
func Decode(v *record.Value) (geom.T, error) {
	if v.G != nil {
		return v.G, nil
	}
	switch v.Kind {
	case record.Geometry, record.Text, record.Bytes:
	case record.Null:
		return nil, errors.New("geometry is NULL")
	default:
		return nil, fmt.Errorf("a %s value is not a geometry", v.Kind)
	}
	if len(v.B) > 0 {
		if isSpatiaLite(v.B) {
			g, err := decodeSpatiaLite(v.B)
			if err == nil {
				return g, nil
			}
			if g, werr := decodeWKB(v.B); werr == nil {
				return g, nil
			}
			return nil, err // not big-endian WKB either
		}
		if isGPKG(v.B) || !isTextStart(v.B[0]) {
			return decodeWKB(v.B)
		}
		// WKT or hex stored in a BLOB column (SQLite does not care).
		return decodeText(unsafe.String(&v.B[0], len(v.B)))
	}
	if v.S != "" {
		return decodeText(v.S)
	}
	return nil, errors.New("geometry value is empty")
}

// decodeText decodes WKT, EWKT or hex-encoded WKB/EWKB.
func decodeText(s string) (geom.T, error) {
	t := strings.TrimSpace(s)
	if len(t) >= 2 && (t[0] == '\\' && (t[1] == 'x' || t[1] == 'X')) {
		t = t[2:] // bytea hex output ("\x0101...")
	}
	if len(t) >= 2 && t[0] == '0' && (t[1] == '0' || t[1] == '1') {
		return decodeHexWKB(t)
	}
	return parseWKT(s)
}

// decodeHexWKB decodes hex text into bytes (on the stack when small) and
// parses them as WKB.
func decodeHexWKB(s string) (geom.T, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("hex WKB: odd number of hex digits (%d)", len(s))
	}
	var stack [hexStackSize]byte
	var b []byte
	if n := len(s) / 2; n <= len(stack) {
		b = stack[:n]
	} else {
		b = make([]byte, n)
	}
	for i := range b {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			j := 2 * i
			if ok1 {
				j++
			}
			return nil, fmt.Errorf("hex WKB: invalid hex digit %q at position %d", s[j], j)
		}
		b[i] = hi<<4 | lo
	}
	g, err := decodeWKB(b)
	if err != nil {
		return nil, fmt.Errorf("hex-encoded WKB: %w", err)
	}
	return g, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// isGPKG reports whether b starts with the GeoPackage blob magic "GP".
func isGPKG(b []byte) bool { return len(b) >= 2 && b[0] == 'G' && b[1] == 'P' }

// isTextStart reports whether c can start WKT, EWKT or hex WKB text
// (a letter, a digit, white space, or the backslash of bytea's \x0101…).
func isTextStart(c byte) bool {
	switch {
	case 'a' <= c|0x20 && c|0x20 <= 'z', '0' <= c && c <= '9':
		return true
	}
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\\'
}
