package postgres

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/countydatasync/countysync/internal/record"
)

// pgEpoch is 2000-01-01 00:00:00 UTC in Unix seconds, the origin of
// PostgreSQL's binary dates and timestamps.
const pgEpoch = 946684800

var errShort = errors.New("value has the wrong length")

// decodeScalar decodes the raw bytes of one non-NULL, non-array value into
// v (which it overwrites entirely). Byte slices in v alias raw.
func decodeScalar(dec decoder, raw []byte, v *record.Value) error {
	switch dec {
	case decText, decTextBin:
		*v = record.Value{Kind: record.Text, S: string(raw)}
	case decInt2:
		if len(raw) != 2 {
			return errShort
		}
		*v = record.Value{Kind: record.Int, I: int64(int16(binary.BigEndian.Uint16(raw)))}
	case decInt4:
		if len(raw) != 4 {
			return errShort
		}
		*v = record.Value{Kind: record.Int, I: int64(int32(binary.BigEndian.Uint32(raw)))}
	case decInt8:
		if len(raw) != 8 {
			return errShort
		}
		*v = record.Value{Kind: record.Int, I: int64(binary.BigEndian.Uint64(raw))}
	case decFloat4:
		if len(raw) != 4 {
			return errShort
		}
		*v = record.Value{Kind: record.Float, F: float4To64(math.Float32frombits(binary.BigEndian.Uint32(raw)))}
	case decFloat8:
		if len(raw) != 8 {
			return errShort
		}
		*v = record.Value{Kind: record.Float, F: math.Float64frombits(binary.BigEndian.Uint64(raw))}
	case decBool:
		if len(raw) != 1 {
			return errShort
		}
		*v = record.Value{Kind: record.Bool}
		if raw[0] != 0 {
			v.I = 1
		}
	case decNumeric:
		*v = record.Value{Kind: record.Numeric, S: string(raw)}
	case decNumericBin:
		b, err := appendNumeric(nil, raw)
		if err != nil {
			return err
		}
		*v = record.Value{Kind: record.Numeric, S: string(b)}
	case decDate:
		if len(raw) != 4 {
			return errShort
		}
		switch days := int32(binary.BigEndian.Uint32(raw)); days {
		case math.MaxInt32:
			*v = record.Value{Kind: record.Date, S: "infinity"}
		case math.MinInt32:
			*v = record.Value{Kind: record.Date, S: "-infinity"}
		default:
			*v = record.Value{Kind: record.Date, T: time.Unix(int64(days)*86400+pgEpoch, 0).UTC()}
		}
	case decTimestamp, decTimestamptz:
		if len(raw) != 8 {
			return errShort
		}
		kind := record.Timestamp
		if dec == decTimestamptz {
			kind = record.TimestampTZ
		}
		switch us := int64(binary.BigEndian.Uint64(raw)); us {
		case math.MaxInt64:
			*v = record.Value{Kind: kind, S: "infinity"}
		case math.MinInt64:
			*v = record.Value{Kind: kind, S: "-infinity"}
		default:
			*v = record.Value{Kind: kind, T: microsToTime(us)}
		}
	case decUUID:
		if len(raw) != 16 {
			return errShort
		}
		var buf [36]byte
		hex.Encode(buf[0:8], raw[0:4])
		buf[8] = '-'
		hex.Encode(buf[9:13], raw[4:6])
		buf[13] = '-'
		hex.Encode(buf[14:18], raw[6:8])
		buf[18] = '-'
		hex.Encode(buf[19:23], raw[8:10])
		buf[23] = '-'
		hex.Encode(buf[24:36], raw[10:16])
		*v = record.Value{Kind: record.UUID, S: string(buf[:])}
	case decBytea:
		*v = record.Value{Kind: record.Bytes, B: raw}
	case decJSON:
		*v = record.Value{Kind: record.JSON, S: string(raw)}
	case decJSONB:
		if len(raw) < 1 || raw[0] != 1 {
			return fmt.Errorf("unsupported jsonb binary version")
		}
		*v = record.Value{Kind: record.JSON, S: string(raw[1:])}
	case decGeometry:
		*v = record.Value{Kind: record.Geometry, B: raw}
	default:
		return fmt.Errorf("internal error: decoder %d is not scalar", dec)
	}
	return nil
}

// microsToTime converts microseconds since 2000-01-01 to a UTC time.
func microsToTime(us int64) time.Time {
	sec, rem := us/1e6, us%1e6
	if rem < 0 {
		rem += 1e6
		sec--
	}
	return time.Unix(sec+pgEpoch, rem*1000).UTC()
}

// float4To64 widens a float4 to the float64 of its shortest decimal, so
// 0.1::float4 reads as 0.1 (as PostgreSQL prints it), not 0.10000000149.
func float4To64(f float32) float64 {
	g := float64(f)
	if math.IsNaN(g) || math.IsInf(g, 0) || f == 0 {
		return g
	}
	var buf [32]byte
	r, err := strconv.ParseFloat(string(strconv.AppendFloat(buf[:0], g, 'g', -1, 32)), 64)
	if err != nil {
		return g
	}
	return r
}

// appendNumeric appends the text form of a binary numeric, exactly as
// PostgreSQL's numeric_out prints it (dscale digits after the point).
func appendNumeric(dst, raw []byte) ([]byte, error) {
	if len(raw) < 8 {
		return dst, errShort
	}
	ndigits := int(int16(binary.BigEndian.Uint16(raw[0:])))
	weight := int(int16(binary.BigEndian.Uint16(raw[2:])))
	sign := binary.BigEndian.Uint16(raw[4:])
	dscale := int(binary.BigEndian.Uint16(raw[6:]))
	if ndigits < 0 || len(raw) != 8+2*ndigits {
		return dst, errShort
	}
	switch sign {
	case 0xC000:
		return append(dst, "NaN"...), nil
	case 0xD000:
		return append(dst, "Infinity"...), nil
	case 0xF000:
		return append(dst, "-Infinity"...), nil
	case 0x4000:
		dst = append(dst, '-')
	case 0x0000:
	default:
		return dst, fmt.Errorf("invalid numeric sign 0x%04x", sign)
	}
	digit := func(i int) int {
		if i >= 0 && i < ndigits {
			return int(binary.BigEndian.Uint16(raw[8+2*i:]))
		}
		return 0
	}
	if weight < 0 {
		dst = append(dst, '0')
	} else {
		for d := 0; d <= weight; d++ {
			if d == 0 {
				dst = strconv.AppendInt(dst, int64(digit(d)), 10)
			} else {
				dst = append4(dst, digit(d))
			}
		}
	}
	if dscale > 0 {
		dst = append(dst, '.')
		start := len(dst)
		for d := weight + 1; len(dst)-start < dscale; d++ {
			dst = append4(dst, digit(d))
		}
		dst = dst[:start+dscale]
	}
	return dst, nil
}

// append4 appends a base-10000 digit as four decimal digits.
func append4(dst []byte, d int) []byte {
	return append(dst, byte('0'+d/1000%10), byte('0'+d/100%10), byte('0'+d/10%10), byte('0'+d%10))
}

// appendArrayJSON renders a binary array as JSON text. Elements are
// decoded with the scalar mapping of elem and rendered by appendValueJSON.
func appendArrayJSON(dst, raw []byte, elem *pgType) ([]byte, error) {
	if len(raw) < 12 {
		return dst, errShort
	}
	ndim := int(int32(binary.BigEndian.Uint32(raw[0:])))
	if ndim == 0 {
		return append(dst, "[]"...), nil
	}
	if ndim < 0 || ndim > 16 || len(raw) < 12+8*ndim {
		return dst, fmt.Errorf("invalid array header")
	}
	var dims [16]int
	for i := 0; i < ndim; i++ {
		n := int(int32(binary.BigEndian.Uint32(raw[12+8*i:])))
		if n < 0 {
			return dst, fmt.Errorf("invalid array dimension")
		}
		dims[i] = n
	}
	dec := elem.dec
	if dec == decNumeric {
		dec = decNumericBin
	}
	a := arrayDecoder{raw: raw, p: 12 + 8*ndim, dims: dims[:ndim], dec: dec}
	dst, err := a.dim(dst, 0)
	if err == nil && a.p != len(raw) {
		err = fmt.Errorf("trailing bytes after array")
	}
	return dst, err
}

type arrayDecoder struct {
	raw  []byte
	p    int
	dims []int
	dec  decoder
	v    record.Value
}

func (a *arrayDecoder) dim(dst []byte, d int) ([]byte, error) {
	dst = append(dst, '[')
	for i := 0; i < a.dims[d]; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		if d+1 < len(a.dims) {
			var err error
			if dst, err = a.dim(dst, d+1); err != nil {
				return dst, err
			}
			continue
		}
		if a.p+4 > len(a.raw) {
			return dst, errShort
		}
		n := int(int32(binary.BigEndian.Uint32(a.raw[a.p:])))
		a.p += 4
		if n < 0 {
			dst = append(dst, "null"...)
			continue
		}
		if a.p+n > len(a.raw) {
			return dst, errShort
		}
		if err := decodeScalar(a.dec, a.raw[a.p:a.p+n], &a.v); err != nil {
			return dst, err
		}
		a.p += n
		dst = appendValueJSON(dst, &a.v)
	}
	return append(dst, ']'), nil
}

// appendValueJSON renders one array element as JSON: numbers as exact
// JSON numbers, non-finite numbers and everything textual as strings,
// json as nested JSON, bytea as base64, geometry as hex EWKB.
func appendValueJSON(dst []byte, v *record.Value) []byte {
	switch v.Kind {
	case record.Null:
		return append(dst, "null"...)
	case record.Int, record.Bool:
		return record.AppendText(dst, v)
	case record.Float:
		if !record.IsFinite(v.F) {
			return record.AppendJSONString(dst, string(record.AppendFloat(nil, v.F)))
		}
		return record.AppendFloat(dst, v.F)
	case record.Numeric:
		if v.S == "NaN" || v.S == "Infinity" || v.S == "-Infinity" {
			return record.AppendJSONString(dst, v.S)
		}
		return append(dst, v.S...)
	case record.JSON:
		return append(dst, v.S...)
	case record.Geometry:
		dst = append(dst, '"')
		dst = hexUpperAppend(dst, v.B)
		return append(dst, '"')
	case record.Text, record.UUID:
		return record.AppendJSONString(dst, v.S)
	}
	// Date, Timestamp, TimestampTZ, Bytes: their canonical text, quoted.
	dst = append(dst, '"')
	dst = record.AppendText(dst, v)
	return append(dst, '"')
}

func hexUpperAppend(dst, b []byte) []byte {
	const digits = "0123456789ABCDEF"
	for _, c := range b {
		dst = append(dst, digits[c>>4], digits[c&15])
	}
	return dst
}

// appendTextArrayJSON renders PostgreSQL's text output of an array
// ("{a,\"b c\",NULL,{1,2}}", optionally preceded by "[lb:ub]=" bounds) as
// JSON, every element a string.
func appendTextArrayJSON(dst, s []byte, delim byte) ([]byte, error) {
	if len(s) > 0 && s[0] == '[' {
		i := 0
		for i < len(s) && s[i] != '=' {
			i++
		}
		if i == len(s) {
			return dst, fmt.Errorf("invalid array text")
		}
		s = s[i+1:]
	}
	p := textArrayParser{s: s, delim: delim}
	dst, err := p.array(dst)
	if err == nil && p.i != len(s) {
		err = fmt.Errorf("trailing text after array")
	}
	return dst, err
}

type textArrayParser struct {
	s     []byte
	i     int
	delim byte
	buf   []byte
}

func (p *textArrayParser) array(dst []byte) ([]byte, error) {
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return dst, fmt.Errorf("invalid array text at offset %d", p.i)
	}
	p.i++
	dst = append(dst, '[')
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return append(dst, ']'), nil
	}
	for {
		if p.i >= len(p.s) {
			return dst, fmt.Errorf("unterminated array text")
		}
		switch p.s[p.i] {
		case '{':
			var err error
			if dst, err = p.array(dst); err != nil {
				return dst, err
			}
		case '"':
			p.i++
			p.buf = p.buf[:0]
			for {
				if p.i >= len(p.s) {
					return dst, fmt.Errorf("unterminated quoted array element")
				}
				c := p.s[p.i]
				p.i++
				if c == '"' {
					break
				}
				if c == '\\' && p.i < len(p.s) {
					c = p.s[p.i]
					p.i++
				}
				p.buf = append(p.buf, c)
			}
			dst = record.AppendJSONString(dst, string(p.buf))
		default:
			start := p.i
			for p.i < len(p.s) && p.s[p.i] != p.delim && p.s[p.i] != '}' {
				p.i++
			}
			el := p.s[start:p.i]
			if len(el) == 4 && (el[0]|0x20) == 'n' && (el[1]|0x20) == 'u' && (el[2]|0x20) == 'l' && (el[3]|0x20) == 'l' {
				dst = append(dst, "null"...)
			} else {
				dst = record.AppendJSONString(dst, string(el))
			}
		}
		if p.i >= len(p.s) {
			return dst, fmt.Errorf("unterminated array text")
		}
		switch p.s[p.i] {
		case p.delim:
			p.i++
			dst = append(dst, ',')
		case '}':
			p.i++
			return append(dst, ']'), nil
		default:
			return dst, fmt.Errorf("unexpected %q in array text at offset %d", p.s[p.i], p.i)
		}
	}
}
