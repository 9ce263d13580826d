package geometry

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/twpayne/go-geom"
)

// WKB geometry type codes (OGC Simple Features, ISO SQL/MM).
const (
	wkbPoint              = 1
	wkbLineString         = 2
	wkbPolygon            = 3
	wkbMultiPoint         = 4
	wkbMultiLineString    = 5
	wkbMultiPolygon       = 6
	wkbGeometryCollection = 7
)

// PostGIS EWKB flags in the high bits of the type word.
const (
	ewkbZ     = 0x80000000
	ewkbM     = 0x40000000
	ewkbSRID  = 0x20000000
	ewkbFlags = ewkbZ | ewkbM | ewkbSRID
)

// typeNames maps WKB type codes to WKT keywords.
var typeNames = [...]string{
	"GEOMETRY", "POINT", "LINESTRING", "POLYGON",
	"MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION",
}

// unsupportedNames names the WKB types we know but do not handle.
var unsupportedNames = map[uint32]string{
	8: "CIRCULARSTRING", 9: "COMPOUNDCURVE", 10: "CURVEPOLYGON",
	11: "MULTICURVE", 12: "MULTISURFACE", 13: "CURVE", 14: "SURFACE",
	15: "POLYHEDRALSURFACE", 16: "TIN", 17: "TRIANGLE",
}

// wkbHeader is the decoded byte order and type word of one (sub)geometry.
type wkbHeader struct {
	le     bool
	typ    uint32 // wkbPoint … wkbGeometryCollection
	layout geom.Layout
	stride int
}

// name describes the header as WKT does ("POINT Z").
func (h wkbHeader) name() string { return typeNames[h.typ] + layoutTag(h.layout) }

// wkbDecoder reads WKB, EWKB and GeoPackage blobs. Every count is checked
// against the bytes that remain before anything is allocated for it.
type wkbDecoder struct {
	b    []byte
	srid int
}

// decodeWKB decodes a whole WKB/EWKB/GeoPackage blob; trailing bytes are
// an error.
func decodeWKB(b []byte) (geom.T, error) {
	d := wkbDecoder{b: b}
	off := 0
	if isGPKG(b) {
		var err error
		if off, err = d.gpkgHeader(); err != nil {
			return nil, err
		}
	}
	g, next, err := d.geometry(off, 0)
	if err != nil {
		return nil, err
	}
	if next != len(b) {
		return nil, fmt.Errorf("WKB: %d unexpected bytes after the geometry at offset %d", len(b)-next, next)
	}
	return g, nil
}

// gpkgHeader parses a GeoPackage geometry blob header ("GP", version,
// flags, SRID, envelope) and returns the offset of the WKB that follows.
func (d *wkbDecoder) gpkgHeader() (int, error) {
	if len(d.b) < 8 {
		return 0, fmt.Errorf("truncated GeoPackage blob: need 8 header bytes, have %d", len(d.b))
	}
	if v := d.b[2]; v != 0 {
		return 0, fmt.Errorf("GeoPackage blob: unsupported version %d", v)
	}
	flags := d.b[3]
	if flags&0x20 != 0 {
		return 0, fmt.Errorf("GeoPackage blob: extended geometry types are not supported")
	}
	var env int
	switch code := flags >> 1 & 7; code {
	case 0:
	case 1:
		env = 32
	case 2, 3:
		env = 48
	case 4:
		env = 64
	default:
		return 0, fmt.Errorf("GeoPackage blob: invalid envelope code %d", code)
	}
	if err := d.need(8, uint64(env)); err != nil {
		return 0, err
	}
	if srid := int32(u32(d.b[4:], flags&1 == 1)); srid > 0 {
		d.srid = int(srid)
	}
	return 8 + env, nil
}

// need reports an error unless n bytes remain at off.
func (d *wkbDecoder) need(off int, n uint64) error {
	if have := len(d.b) - off; uint64(have) < n {
		return fmt.Errorf("truncated WKB: need %d bytes at offset %d, have %d", n, off, have)
	}
	return nil
}

// header reads the byte order and type word (and the EWKB SRID, which only
// the top-level geometry's counts) at off.
func (d *wkbDecoder) header(off int, top bool) (h wkbHeader, next int, err error) {
	if err := d.need(off, 5); err != nil {
		return h, off, err
	}
	switch d.b[off] {
	case 0:
	case 1:
		h.le = true
	default:
		return h, off, fmt.Errorf("WKB: invalid byte order %d at offset %d (want 0 or 1)", d.b[off], off)
	}
	t := u32(d.b[off+1:], h.le)
	next = off + 5
	if t&ewkbSRID != 0 {
		if err := d.need(next, 4); err != nil {
			return h, off, err
		}
		if srid := int32(u32(d.b[next:], h.le)); top && srid > 0 {
			d.srid = int(srid)
		}
		next += 4
	}
	hasZ, hasM := t&ewkbZ != 0, t&ewkbM != 0
	code := t &^ ewkbFlags
	switch code / 1000 {
	case 0:
	case 1:
		hasZ = true
	case 2:
		hasM = true
	case 3:
		hasZ, hasM = true, true
	default:
		return h, off, fmt.Errorf("WKB: unknown geometry type %d at offset %d", code, off+1)
	}
	h.typ = code % 1000
	if h.typ < wkbPoint || h.typ > wkbGeometryCollection {
		if name, ok := unsupportedNames[h.typ]; ok {
			return h, off, fmt.Errorf("WKB: unsupported geometry type %s at offset %d", name, off+1)
		}
		return h, off, fmt.Errorf("WKB: unknown geometry type %d at offset %d", code, off+1)
	}
	switch {
	case hasZ && hasM:
		h.layout = geom.XYZM
	case hasZ:
		h.layout = geom.XYZ
	case hasM:
		h.layout = geom.XYM
	default:
		h.layout = geom.XY
	}
	h.stride = h.layout.Stride()
	return h, next, nil
}

// member reads the header of a member of a multi-geometry and checks that
// it has the wanted type and the parent's dimensions.
func (d *wkbDecoder) member(off int, parent wkbHeader, want uint32) (wkbHeader, int, error) {
	h, next, err := d.header(off, false)
	if err != nil {
		return h, next, err
	}
	if h.typ != want || h.layout != parent.layout {
		w := wkbHeader{typ: want, layout: parent.layout}
		return h, next, fmt.Errorf("WKB: %s member at offset %d is %s, want %s", parent.name(), off, h.name(), w.name())
	}
	return h, next, nil
}

// count reads a uint32 count at off and checks that count items of at
// least minSize bytes each can follow.
func (d *wkbDecoder) count(off int, le bool, minSize int) (int, int, error) {
	if err := d.need(off, 4); err != nil {
		return 0, off, err
	}
	n := u32(d.b[off:], le)
	off += 4
	if err := d.need(off, uint64(n)*uint64(minSize)); err != nil {
		return 0, off, err
	}
	return int(n), off, nil
}

// geometry decodes one geometry (header and body) at off.
func (d *wkbDecoder) geometry(off, depth int) (geom.T, int, error) {
	h, off, err := d.header(off, depth == 0)
	if err != nil {
		return nil, off, err
	}
	switch h.typ {
	case wkbPoint:
		return d.point(h, off)
	case wkbLineString:
		return d.lineString(h, off)
	case wkbPolygon:
		return d.polygon(h, off)
	case wkbMultiPoint:
		return d.multiPoint(h, off)
	case wkbMultiLineString:
		return d.multiLineString(h, off)
	case wkbMultiPolygon:
		return d.multiPolygon(h, off)
	default:
		return d.collection(h, off, depth)
	}
}

func (d *wkbDecoder) point(h wkbHeader, off int) (geom.T, int, error) {
	var c [4]float64
	empty, next, err := d.pointCoords(c[:h.stride], off, h.le)
	if err != nil {
		return nil, off, err
	}
	if empty {
		return geom.NewPointEmpty(h.layout).SetSRID(d.srid), next, nil
	}
	flat := make([]float64, h.stride)
	copy(flat, c[:])
	return geom.NewPointFlat(h.layout, flat).SetSRID(d.srid), next, nil
}

// pointCoords reads one point's coordinates into c; all NaN means EMPTY
// (that is how PostGIS writes POINT EMPTY), any other NaN is an error.
func (d *wkbDecoder) pointCoords(c []float64, off int, le bool) (empty bool, next int, err error) {
	if err := d.need(off, uint64(8*len(c))); err != nil {
		return false, off, err
	}
	readFloats(c, d.b[off:], le)
	nan := 0
	for _, v := range c {
		if v != v {
			nan++
		}
	}
	if nan == len(c) {
		return true, off + 8*len(c), nil
	}
	if err := checkFinite(c, off); err != nil {
		return false, off, err
	}
	return false, off + 8*len(c), nil
}

func (d *wkbDecoder) lineString(h wkbHeader, off int) (geom.T, int, error) {
	start := off
	n, off, err := d.count(off, h.le, 8*h.stride)
	if err != nil {
		return nil, off, err
	}
	if n == 1 {
		return nil, off, fmt.Errorf("WKB: LINESTRING at offset %d has 1 point; needs at least 2", start)
	}
	var flat []float64
	if n > 0 {
		flat = make([]float64, n*h.stride)
		if err := d.floats(flat, off, h.le); err != nil {
			return nil, off, err
		}
	}
	return geom.NewLineStringFlat(h.layout, flat).SetSRID(d.srid), off + 8*len(flat), nil
}

func (d *wkbDecoder) polygon(h wkbHeader, off int) (geom.T, int, error) {
	_, npts, nrings, err := d.measureRings(off, h)
	if err != nil {
		return nil, off, err
	}
	var flat []float64
	var ends []int
	if nrings > 0 {
		flat = make([]float64, 0, npts*h.stride)
		ends = make([]int, 0, nrings)
	}
	flat, ends, next, err := d.rings(off, h, flat, ends)
	if err != nil {
		return nil, off, err
	}
	return geom.NewPolygonFlat(h.layout, flat, ends).SetSRID(d.srid), next, nil
}

// measureRings walks a polygon body (ring count, then point count and
// points of each ring) without reading coordinates, checking every count
// against the remaining bytes.
func (d *wkbDecoder) measureRings(off int, h wkbHeader) (next, npts, nrings int, err error) {
	n, off, err := d.count(off, h.le, 4)
	if err != nil {
		return off, 0, 0, err
	}
	for range n {
		k, p, err := d.count(off, h.le, 8*h.stride)
		if err != nil {
			return p, 0, 0, err
		}
		off = p + 8*k*h.stride
		npts += k
	}
	return off, npts, n, nil
}

// rings reads a polygon body measured by measureRings, appending the
// coordinates to flat (which has the capacity) and each ring's end index
// in flat to ends.
func (d *wkbDecoder) rings(off int, h wkbHeader, flat []float64, ends []int) ([]float64, []int, int, error) {
	n := int(u32(d.b[off:], h.le))
	off += 4
	for i := range n {
		k := int(u32(d.b[off:], h.le))
		if k < 4 {
			return nil, nil, off, fmt.Errorf("WKB: ring %d at offset %d has %d points; a ring needs at least 4", i, off, k)
		}
		off += 4
		start := len(flat)
		flat = flat[:start+k*h.stride]
		ring := flat[start:]
		if err := d.floats(ring, off, h.le); err != nil {
			return nil, nil, off, err
		}
		if err := checkClosed(ring, h.stride); err != nil {
			return nil, nil, off, fmt.Errorf("%w (ring %d at WKB offset %d)", err, i, off-4)
		}
		off += 8 * len(ring)
		ends = append(ends, len(flat))
	}
	return flat, ends, off, nil
}

func (d *wkbDecoder) multiPoint(h wkbHeader, off int) (geom.T, int, error) {
	n, off, err := d.count(off, h.le, 5+8*h.stride)
	if err != nil {
		return nil, off, err
	}
	var flat []float64
	var ends []int
	if n > 0 {
		flat = make([]float64, 0, n*h.stride)
		ends = make([]int, n)
	}
	for i := range n {
		mh, p, err := d.member(off, h, wkbPoint)
		if err != nil {
			return nil, p, err
		}
		var c [4]float64
		empty, p, err := d.pointCoords(c[:h.stride], p, mh.le)
		if err != nil {
			return nil, p, err
		}
		if !empty {
			flat = append(flat, c[:h.stride]...)
		}
		ends[i] = len(flat)
		off = p
	}
	return geom.NewMultiPointFlat(h.layout, flat, geom.NewMultiPointFlatOptionWithEnds(ends)).SetSRID(d.srid), off, nil
}

func (d *wkbDecoder) multiLineString(h wkbHeader, off int) (geom.T, int, error) {
	n, off, err := d.count(off, h.le, 9)
	if err != nil {
		return nil, off, err
	}
	// Pass 1: check the structure and count the points.
	total, p := 0, off
	for range n {
		mh, q, err := d.member(p, h, wkbLineString)
		if err != nil {
			return nil, q, err
		}
		k, q, err := d.count(q, mh.le, 8*h.stride)
		if err != nil {
			return nil, q, err
		}
		if k == 1 {
			return nil, q, fmt.Errorf("WKB: LINESTRING at offset %d has 1 point; needs at least 2", p)
		}
		p = q + 8*k*h.stride
		total += k
	}
	// Pass 2: read the coordinates.
	var flat []float64
	var ends []int
	if n > 0 {
		flat = make([]float64, 0, total*h.stride)
		ends = make([]int, n)
	}
	for i := range n {
		mh, q, _ := d.member(off, h, wkbLineString)
		k := int(u32(d.b[q:], mh.le))
		q += 4
		start := len(flat)
		flat = flat[:start+k*h.stride]
		if err := d.floats(flat[start:], q, mh.le); err != nil {
			return nil, q, err
		}
		ends[i] = len(flat)
		off = q + 8*k*h.stride
	}
	return geom.NewMultiLineStringFlat(h.layout, flat, ends).SetSRID(d.srid), off, nil
}

func (d *wkbDecoder) multiPolygon(h wkbHeader, off int) (geom.T, int, error) {
	n, off, err := d.count(off, h.le, 9)
	if err != nil {
		return nil, off, err
	}
	// Pass 1: check the structure and count points and rings.
	total, totalRings, p := 0, 0, off
	for range n {
		mh, q, err := d.member(p, h, wkbPolygon)
		if err != nil {
			return nil, q, err
		}
		q, npts, nrings, err := d.measureRings(q, mh)
		if err != nil {
			return nil, q, err
		}
		p = q
		total += npts
		totalRings += nrings
	}
	// Pass 2: read the coordinates.
	var flat []float64
	var ends []int
	var endss [][]int
	if n > 0 {
		flat = make([]float64, 0, total*h.stride)
		ends = make([]int, 0, totalRings)
		endss = make([][]int, n)
	}
	for i := range n {
		mh, q, _ := d.member(off, h, wkbPolygon)
		start := len(ends)
		flat, ends, off, err = d.rings(q, mh, flat, ends)
		if err != nil {
			return nil, off, err
		}
		endss[i] = ends[start:len(ends):len(ends)]
	}
	return geom.NewMultiPolygonFlat(h.layout, flat, endss).SetSRID(d.srid), off, nil
}

func (d *wkbDecoder) collection(h wkbHeader, off, depth int) (geom.T, int, error) {
	if depth >= maxDepth {
		return nil, off, fmt.Errorf("WKB: geometry collections nested more than %d deep", maxDepth)
	}
	n, off, err := d.count(off, h.le, 9)
	if err != nil {
		return nil, off, err
	}
	var buf [8]geom.T
	geoms := buf[:0]
	for range n {
		g, next, err := d.geometry(off, depth+1)
		if err != nil {
			return nil, next, err
		}
		if g.Layout() != h.layout {
			return nil, off, fmt.Errorf("WKB: %s member at offset %d has dimensions %s", h.name(), off, layoutName(g.Layout()))
		}
		geoms = append(geoms, g)
		off = next
	}
	gc := geom.NewGeometryCollection()
	if err := gc.SetLayout(h.layout); err != nil {
		return nil, off, err
	}
	if err := gc.Push(geoms...); err != nil {
		return nil, off, err
	}
	return gc.SetSRID(d.srid), off, nil
}

// floats reads len(dst) coordinates at off (bounds already checked) and
// rejects NaN and infinities.
func (d *wkbDecoder) floats(dst []float64, off int, le bool) error {
	if readFloats(dst, d.b[off:], le) {
		return nil
	}
	return checkFinite(dst, off)
}

// readFloats decodes len(dst) float64s from b and reports whether all of
// them are finite.
func readFloats(dst []float64, b []byte, le bool) bool {
	b = b[:8*len(dst)]
	var acc float64 // stays 0 unless some v is NaN or ±Inf
	if le {
		for i := range dst {
			v := math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
			dst[i] = v
			acc += v - v
		}
	} else {
		for i := range dst {
			v := math.Float64frombits(binary.BigEndian.Uint64(b[8*i:]))
			dst[i] = v
			acc += v - v
		}
	}
	return acc == 0
}

// checkFinite returns an error naming the first NaN or infinite value in c,
// whose first value was read at WKB offset off.
func checkFinite(c []float64, off int) error {
	for i, v := range c {
		switch {
		case math.IsNaN(v):
			return fmt.Errorf("coordinate is NaN at WKB offset %d", off+8*i)
		case math.IsInf(v, 0):
			return fmt.Errorf("coordinate is infinite at WKB offset %d", off+8*i)
		}
	}
	return nil
}

func u32(b []byte, le bool) uint32 {
	if le {
		return binary.LittleEndian.Uint32(b)
	}
	return binary.BigEndian.Uint32(b)
}
