package geometry

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/twpayne/go-geom"
)

// SpatiaLite's internal BLOB-Geometry format (SpatiaLite's "BLOB-Geometry
// Encoding" note): 0x00, the byte order (0x01 little, 0x00 big endian), the
// SRID (int32), the MBR (min x, min y, max x, max y as doubles), 0x7C, the
// class type (int32, ISO codes: 1-7, +1000 Z, +2000 M, +3000 ZM; +1000000
// for the compressed linestrings and polygons), the class body, 0xFE. The
// body is WKB's without byte-order bytes; the members of a multi-geometry
// or collection each start with 0x69 and their class type. A compressed
// line or ring keeps its first and last vertex as doubles and stores the
// others as float32 offsets from the vertex before (M, where there is one,
// stays a double).
const (
	splStart      = 0x00
	splMBREnd     = 0x7C
	splEntity     = 0x69
	splEnd        = 0xFE
	splHeaderSize = 43 // start, order, SRID, MBR, 0x7C, class type
	splCompressed = 1000000
)

// isSpatiaLite reports whether b has the frame of a SpatiaLite blob (a
// big-endian WKB also starts with 0x00, but not with this frame).
func isSpatiaLite(b []byte) bool {
	return len(b) >= splHeaderSize+1 && b[0] == splStart && (b[1] == 0 || b[1] == 1) &&
		b[38] == splMBREnd && b[len(b)-1] == splEnd
}

// decodeSpatiaLite transcodes a SpatiaLite blob into little-endian ISO
// WKB and decodes that with the WKB decoder (and its checks), with the
// blob's SRID.
func decodeSpatiaLite(b []byte) (geom.T, error) {
	t := splTranscoder{b: b, le: b[1] == 1, out: make([]byte, 0, len(b))}
	next, err := t.geometry(39, 0)
	if err != nil {
		return nil, fmt.Errorf("SpatiaLite blob: %w", err)
	}
	if next != len(b)-1 {
		return nil, fmt.Errorf("SpatiaLite blob: %d unexpected bytes after the geometry at offset %d", len(b)-1-next, next)
	}
	g, err := decodeWKB(t.out)
	if err != nil {
		return nil, fmt.Errorf("SpatiaLite blob: %w", err)
	}
	if srid := int32(u32(b[2:], t.le)); srid > 0 {
		g = SetSRID(g, int(srid))
	}
	return g, nil
}

type splTranscoder struct {
	b   []byte
	le  bool
	out []byte
}

func (t *splTranscoder) need(off, n int) error {
	if n < 0 || off+n > len(t.b)-1 { // the last byte is the 0xFE end mark
		return fmt.Errorf("truncated: need %d bytes at offset %d, have %d", n, off, max(len(t.b)-1-off, 0))
	}
	return nil
}

func (t *splTranscoder) u32(off int) (int, error) {
	if err := t.need(off, 4); err != nil {
		return 0, err
	}
	return int(u32(t.b[off:], t.le)), nil
}

func (t *splTranscoder) f64(off int) float64 {
	return math.Float64frombits(u64(t.b[off:], t.le))
}

func (t *splTranscoder) f32(off int) float64 {
	return float64(math.Float32frombits(u32(t.b[off:], t.le)))
}

func (t *splTranscoder) putU32(v int) { t.out = binary.LittleEndian.AppendUint32(t.out, uint32(v)) }
func (t *splTranscoder) putF64(v float64) {
	t.out = binary.LittleEndian.AppendUint64(t.out, math.Float64bits(v))
}

// geometry transcodes the class type at off and its body.
func (t *splTranscoder) geometry(off, depth int) (int, error) {
	if depth > maxDepth {
		return 0, fmt.Errorf("collections nested deeper than %d", maxDepth)
	}
	class, err := t.u32(off)
	if err != nil {
		return 0, err
	}
	off += 4
	compressed := class >= splCompressed
	iso := class % splCompressed
	base, dimCode := iso%1000, iso/1000
	if base < 1 || base > 7 || dimCode > 3 || class/splCompressed > 1 {
		return 0, fmt.Errorf("unknown class type %d at offset %d", class, off-4)
	}
	if compressed && base != 2 && base != 3 {
		return 0, fmt.Errorf("class type %d at offset %d: only lines and polygons are compressed", class, off-4)
	}
	dims := 2
	hasM := dimCode == 2 || dimCode == 3
	if dimCode == 1 || dimCode == 2 {
		dims = 3
	} else if dimCode == 3 {
		dims = 4
	}
	t.out = append(t.out, 1)
	t.putU32(iso)
	switch base {
	case 1:
		return t.points(off, 1, dims, false, hasM)
	case 2:
		n, err := t.u32(off)
		if err != nil {
			return 0, err
		}
		t.putU32(n)
		return t.points(off+4, n, dims, compressed, hasM)
	case 3:
		rings, err := t.u32(off)
		if err != nil {
			return 0, err
		}
		t.putU32(rings)
		off += 4
		for range rings {
			n, err := t.u32(off)
			if err != nil {
				return 0, err
			}
			t.putU32(n)
			if off, err = t.points(off+4, n, dims, compressed, hasM); err != nil {
				return 0, err
			}
		}
		return off, nil
	}
	n, err := t.u32(off)
	if err != nil {
		return 0, err
	}
	t.putU32(n)
	off += 4
	for range n {
		if err := t.need(off, 1); err != nil {
			return 0, err
		}
		if t.b[off] != splEntity {
			return 0, fmt.Errorf("expected member mark 0x69 at offset %d, found 0x%02X", off, t.b[off])
		}
		if off, err = t.geometry(off+1, depth+1); err != nil {
			return 0, err
		}
	}
	return off, nil
}

// points copies n vertices of dims ordinates, expanding compressed ones.
func (t *splTranscoder) points(off, n, dims int, compressed, hasM bool) (int, error) {
	if !compressed || n <= 2 {
		if err := t.need(off, n*dims*8); err != nil {
			return 0, err
		}
		for i := range n * dims {
			t.putF64(t.f64(off + 8*i))
		}
		return off + n*dims*8, nil
	}
	floats := dims // ordinates stored as float32 offsets
	if hasM {
		floats--
	}
	mid := floats*4 + (dims-floats)*8
	if err := t.need(off, 2*dims*8+(n-2)*mid); err != nil {
		return 0, err
	}
	prev := make([]float64, dims)
	for i := range n {
		if i == 0 || i == n-1 {
			for d := range dims {
				prev[d] = t.f64(off + 8*d)
			}
			off += dims * 8
		} else {
			for d := range floats {
				prev[d] += t.f32(off + 4*d)
			}
			if hasM {
				prev[dims-1] = t.f64(off + 4*floats)
			}
			off += mid
		}
		for _, v := range prev {
			t.putF64(v)
		}
	}
	return off, nil
}

func u64(b []byte, le bool) uint64 {
	if le {
		return binary.LittleEndian.Uint64(b)
	}
	return binary.BigEndian.Uint64(b)
}

// SetSRID sets g's SRID in place, whatever its type, and returns it.
func SetSRID(g geom.T, srid int) geom.T {
	switch g := g.(type) {
	case *geom.Point:
		return g.SetSRID(srid)
	case *geom.LineString:
		return g.SetSRID(srid)
	case *geom.Polygon:
		return g.SetSRID(srid)
	case *geom.MultiPoint:
		return g.SetSRID(srid)
	case *geom.MultiLineString:
		return g.SetSRID(srid)
	case *geom.MultiPolygon:
		return g.SetSRID(srid)
	case *geom.GeometryCollection:
		return g.SetSRID(srid)
	case *geom.LinearRing:
		return g.SetSRID(srid)
	}
	return g
}
