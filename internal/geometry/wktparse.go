package geometry

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/twpayne/go-geom"
)

// wktParser is a recursive-descent parser for WKT and EWKT. All
// coordinates of one text go into one backing array, sized once from an
// upper bound on the number of points.
type wktParser struct {
	s      string
	pos    int
	layout geom.Layout // NoLayout until a dimension tag or coordinate fixes it
	flat   []float64
	srid   int
}

// parseWKT parses WKT or EWKT ("SRID=4326;POINT(1 2)"), keywords in any
// case, with PostGIS's rules: untagged coordinates of 3 or 4 ordinates
// are Z and ZM, a text mixes no dimensions, rings are closed and have at
// least 4 points, linestrings at least 2.
func parseWKT(s string) (geom.T, error) {
	p := wktParser{s: s}
	p.skipSpace()
	if len(s)-p.pos >= 5 && strings.EqualFold(s[p.pos:p.pos+5], "SRID=") {
		if err := p.sridPrefix(); err != nil {
			return nil, err
		}
	}
	g, err := p.geometry(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(s) {
		return nil, p.errorf("unexpected %s after the geometry", p.near())
	}
	return g, nil
}

func (p *wktParser) sridPrefix() error {
	p.pos += 5
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] != ';' {
		p.pos++
	}
	if p.pos == len(p.s) {
		return p.errorf("expected ';' after SRID")
	}
	srid, err := strconv.ParseInt(strings.TrimSpace(p.s[start:p.pos]), 10, 32)
	if err != nil {
		text := p.s[start:p.pos]
		p.pos = start
		return p.errorf("invalid SRID %q", short(text))
	}
	if srid > 0 {
		p.srid = int(srid)
	}
	p.pos++
	p.skipSpace()
	return nil
}

// errorf returns "WKT: <msg> at position <pos>".
func (p *wktParser) errorf(format string, args ...any) error {
	return fmt.Errorf("WKT: %s at position %d", fmt.Sprintf(format, args...), p.pos)
}

// near quotes the text at the current position for error messages.
func (p *wktParser) near() string {
	if p.pos >= len(p.s) {
		return "end of text"
	}
	return strconv.Quote(short(p.s[p.pos:]))
}

// short cuts s for error messages.
func short(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

func (p *wktParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.pos++
		default:
			return
		}
	}
}

// word scans a run of ASCII letters.
func (p *wktParser) word() string {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos] | 0x20
		if c < 'a' || c > 'z' {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos]
}

// expect consumes c (after optional space) or fails.
func (p *wktParser) expect(c byte) error {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return nil
	}
	return p.errorf("expected '%c'", c)
}

// more consumes ',' and reports true, or consumes ')' and reports false.
func (p *wktParser) more() (bool, error) {
	p.skipSpace()
	if p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ',':
			p.pos++
			return true, nil
		case ')':
			p.pos++
			return false, nil
		}
	}
	return false, p.errorf("expected ',' or ')'")
}

// peekEmpty consumes the keyword EMPTY if it comes next.
func (p *wktParser) peekEmpty() bool {
	p.skipSpace()
	save := p.pos
	if strings.EqualFold(p.word(), "EMPTY") {
		return true
	}
	p.pos = save
	return false
}

// dims parses a dimension suffix ("", "Z", "M", "ZM", any case).
func dims(s string) (geom.Layout, bool) {
	switch {
	case s == "":
		return geom.NoLayout, true
	case strings.EqualFold(s, "Z"):
		return geom.XYZ, true
	case strings.EqualFold(s, "M"):
		return geom.XYM, true
	case strings.EqualFold(s, "ZM"):
		return geom.XYZM, true
	}
	return geom.NoLayout, false
}

// fixLayout records the layout the text uses, failing if it differs from
// one fixed before.
func (p *wktParser) fixLayout(l geom.Layout) error {
	if p.layout == geom.NoLayout {
		p.layout = l
		return nil
	}
	if l != p.layout {
		return p.errorf("can not mix dimensions %s and %s", layoutName(p.layout), layoutName(l))
	}
	return nil
}

// cur is the layout for a geometry being built: as fixed so far, else XY.
func (p *wktParser) cur() geom.Layout {
	if p.layout == geom.NoLayout {
		return geom.XY
	}
	return p.layout
}

// geometry parses one tagged geometry: TYPE [Z|M|ZM] (EMPTY | body).
func (p *wktParser) geometry(depth int) (geom.T, error) {
	p.skipSpace()
	start := p.pos
	w := p.word()
	typ, layout := uint32(0), geom.NoLayout
	for t := wkbPoint; t <= wkbGeometryCollection; t++ {
		name := typeNames[t]
		if len(w) >= len(name) && strings.EqualFold(w[:len(name)], name) {
			if l, ok := dims(w[len(name):]); ok {
				typ, layout = uint32(t), l
				break
			}
		}
	}
	if typ == 0 {
		p.pos = start
		if w == "" {
			return nil, p.errorf("expected a geometry type, found %s", p.near())
		}
		return nil, p.errorf("unknown geometry type %q", short(w))
	}
	if layout == geom.NoLayout {
		p.skipSpace()
		save := p.pos
		if l, ok := dims(p.word()); ok && l != geom.NoLayout {
			layout = l
		} else {
			p.pos = save
		}
	}
	if layout != geom.NoLayout {
		if err := p.fixLayout(layout); err != nil {
			return nil, err
		}
	}
	if p.peekEmpty() {
		return p.empty(typ), nil
	}
	if err := p.expect('('); err != nil {
		return nil, err
	}
	switch typ {
	case wkbPoint:
		return p.point()
	case wkbLineString:
		return p.lineString()
	case wkbPolygon:
		return p.polygon()
	case wkbMultiPoint:
		return p.multiPoint()
	case wkbMultiLineString:
		return p.multiLineString()
	case wkbMultiPolygon:
		return p.multiPolygon()
	default:
		return p.collection(depth)
	}
}

// empty returns the EMPTY geometry of the given type.
func (p *wktParser) empty(typ uint32) geom.T {
	l := p.cur()
	switch typ {
	case wkbPoint:
		return geom.NewPointEmpty(l).SetSRID(p.srid)
	case wkbLineString:
		return geom.NewLineString(l).SetSRID(p.srid)
	case wkbPolygon:
		return geom.NewPolygon(l).SetSRID(p.srid)
	case wkbMultiPoint:
		return geom.NewMultiPoint(l).SetSRID(p.srid)
	case wkbMultiLineString:
		return geom.NewMultiLineString(l).SetSRID(p.srid)
	case wkbMultiPolygon:
		return geom.NewMultiPolygon(l).SetSRID(p.srid)
	default:
		gc := geom.NewGeometryCollection()
		_ = gc.SetLayout(l) // cannot fail: no members
		return gc.SetSRID(p.srid)
	}
}

// coord parses one coordinate (2 to 4 numbers) and appends it to p.flat.
func (p *wktParser) coord() error {
	var c [4]float64
	n := 0
	start := p.pos
	for {
		p.skipSpace()
		if p.pos == len(p.s) || p.s[p.pos] == ',' || p.s[p.pos] == ')' {
			break
		}
		if n == len(c) {
			return p.errorf("too many ordinates")
		}
		v, err := p.number()
		if err != nil {
			return err
		}
		c[n] = v
		n++
	}
	if n < 2 {
		return p.errorf("expected a coordinate of at least 2 numbers")
	}
	if p.layout == geom.NoLayout {
		p.layout = [...]geom.Layout{2: geom.XY, 3: geom.XYZ, 4: geom.XYZM}[n]
	} else if n != p.layout.Stride() {
		p.pos = start
		return p.errorf("can not mix dimensions: coordinate has %d numbers, %s needs %d", n, layoutName(p.layout), p.layout.Stride())
	}
	if p.flat == nil {
		// Upper bounds on the points to come: each but the last is
		// followed by a comma, and each takes at least 4 bytes ("1 2,").
		rest := p.s[start:]
		points := min(strings.Count(rest, ",")+1, (len(rest)+1)/4)
		p.flat = make([]float64, 0, max(points, 1)*n)
	}
	p.flat = append(p.flat, c[:n]...)
	return nil
}

// number parses one finite number.
func (p *wktParser) number() (float64, error) {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if ('0' <= c && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E' {
			p.pos++
			continue
		}
		break
	}
	tok := p.s[start:p.pos]
	// NaN and Infinity are words, possibly after a sign.
	if len(tok) <= 1 {
		w := p.word()
		switch {
		case strings.EqualFold(w, "nan"):
			p.pos = start
			return 0, p.errorf("coordinate is NaN")
		case strings.EqualFold(w, "inf") || strings.EqualFold(w, "infinity"):
			p.pos = start
			return 0, p.errorf("coordinate is infinite")
		}
		p.pos = start + len(tok)
	}
	if tok == "" {
		return 0, p.errorf("expected a number, found %s", p.near())
	}
	v, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) && !math.IsInf(v, 0) {
			return v, nil // underflow to 0 or a subnormal: fine
		}
		p.pos = start
		if errors.Is(err, strconv.ErrRange) {
			return 0, p.errorf("coordinate is infinite (%s)", short(tok))
		}
		return 0, p.errorf("invalid number %q", short(tok))
	}
	return v, nil
}

// coords parses "c, c, …)" after the '(' and returns the number of points.
func (p *wktParser) coords() (int, error) {
	n := 0
	for {
		if err := p.coord(); err != nil {
			return n, err
		}
		n++
		more, err := p.more()
		if err != nil {
			return n, err
		}
		if !more {
			return n, nil
		}
	}
}

func (p *wktParser) point() (geom.T, error) {
	start := len(p.flat)
	if err := p.coord(); err != nil {
		return nil, err
	}
	if err := p.expect(')'); err != nil {
		return nil, err
	}
	return geom.NewPointFlat(p.layout, p.take(start)).SetSRID(p.srid), nil
}

// take returns the coordinates appended since start, capacity-limited so
// later appends never write into them.
func (p *wktParser) take(start int) []float64 {
	return p.flat[start:len(p.flat):len(p.flat)]
}

func (p *wktParser) lineString() (geom.T, error) {
	start := len(p.flat)
	if err := p.lineBody(); err != nil {
		return nil, err
	}
	return geom.NewLineStringFlat(p.layout, p.take(start)).SetSRID(p.srid), nil
}

// lineBody parses the points of a linestring after its '('.
func (p *wktParser) lineBody() error {
	pos := p.pos
	n, err := p.coords()
	if err != nil {
		return err
	}
	if n < 2 {
		p.pos = pos
		return p.errorf("linestring has 1 point; needs at least 2")
	}
	return nil
}

func (p *wktParser) polygon() (geom.T, error) {
	start := len(p.flat)
	ends, err := p.polygonBody(start, nil)
	if err != nil {
		return nil, err
	}
	return geom.NewPolygonFlat(p.layout, p.take(start), ends).SetSRID(p.srid), nil
}

// polygonBody parses "(ring), (ring)…)" after the polygon's '(',
// appending each ring's end (relative to base) to ends.
func (p *wktParser) polygonBody(base int, ends []int) ([]int, error) {
	for i := 0; ; i++ {
		if err := p.expect('('); err != nil {
			return nil, err
		}
		pos, start := p.pos, len(p.flat)
		n, err := p.coords()
		if err != nil {
			return nil, err
		}
		if n < 4 {
			p.pos = pos
			return nil, p.errorf("ring %d has %d points; a ring needs at least 4", i, n)
		}
		if err := checkClosed(p.flat[start:], p.layout.Stride()); err != nil {
			p.pos = pos
			return nil, fmt.Errorf("WKT: %w (ring %d at position %d)", err, i, pos)
		}
		ends = append(ends, len(p.flat)-base)
		more, err := p.more()
		if err != nil {
			return nil, err
		}
		if !more {
			return ends, nil
		}
	}
}

func (p *wktParser) multiPoint() (geom.T, error) {
	start := len(p.flat)
	var ends []int
	for {
		if !p.peekEmpty() {
			p.skipSpace()
			paren := p.pos < len(p.s) && p.s[p.pos] == '('
			if paren {
				p.pos++
			}
			if err := p.coord(); err != nil {
				return nil, err
			}
			if paren {
				if err := p.expect(')'); err != nil {
					return nil, err
				}
			}
		}
		ends = append(ends, len(p.flat)-start)
		more, err := p.more()
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	return geom.NewMultiPointFlat(p.cur(), p.take(start), geom.NewMultiPointFlatOptionWithEnds(ends)).SetSRID(p.srid), nil
}

func (p *wktParser) multiLineString() (geom.T, error) {
	start := len(p.flat)
	var ends []int
	for {
		if !p.peekEmpty() {
			if err := p.expect('('); err != nil {
				return nil, err
			}
			if err := p.lineBody(); err != nil {
				return nil, err
			}
		}
		ends = append(ends, len(p.flat)-start)
		more, err := p.more()
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	return geom.NewMultiLineStringFlat(p.cur(), p.take(start), ends).SetSRID(p.srid), nil
}

func (p *wktParser) multiPolygon() (geom.T, error) {
	start := len(p.flat)
	var ends []int
	var counts []int // rings per polygon
	for {
		before := len(ends)
		if !p.peekEmpty() {
			if err := p.expect('('); err != nil {
				return nil, err
			}
			var err error
			if ends, err = p.polygonBody(start, ends); err != nil {
				return nil, err
			}
		}
		counts = append(counts, len(ends)-before)
		more, err := p.more()
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	// Carve each polygon's ends out of the one slice now that it no
	// longer grows.
	endss := make([][]int, len(counts))
	i := 0
	for j, k := range counts {
		endss[j] = ends[i : i+k : i+k]
		i += k
	}
	return geom.NewMultiPolygonFlat(p.cur(), p.take(start), endss).SetSRID(p.srid), nil
}

func (p *wktParser) collection(depth int) (geom.T, error) {
	if depth >= maxDepth {
		return nil, p.errorf("geometry collections nested more than %d deep", maxDepth)
	}
	pos := p.pos
	var geoms []geom.T
	for {
		g, err := p.geometry(depth + 1)
		if err != nil {
			return nil, err
		}
		geoms = append(geoms, g)
		more, err := p.more()
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	gc := geom.NewGeometryCollection()
	l := p.cur()
	for _, g := range geoms {
		if g.Layout() != l {
			p.pos = pos
			return nil, p.errorf("can not mix dimensions %s and %s in a GEOMETRYCOLLECTION", layoutName(g.Layout()), layoutName(l))
		}
	}
	if err := gc.SetLayout(l); err != nil {
		return nil, err
	}
	if err := gc.Push(geoms...); err != nil {
		return nil, err
	}
	return gc.SetSRID(p.srid), nil
}
