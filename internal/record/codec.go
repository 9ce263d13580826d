package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The row codec is the exact binary form of a row, used by snapshots: one
// kind byte per value followed by its payload. It keeps every kind exactly
// (microseconds and nanoseconds of times, numeric digits, which of B and S a
// geometry carries) and decodes without allocating more than the strings
// and byte slices of the row.

const (
	flagS byte = 0x80 // payload is S (text) rather than the kind's usual field
)

// AppendRow appends the binary encoding of row to dst.
func AppendRow(dst []byte, row Row) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(row)))
	for i := range row {
		v := &row[i]
		switch v.Kind {
		case Null:
			dst = append(dst, byte(Null))
		case Int, Bool:
			dst = append(dst, byte(v.Kind))
			dst = binary.AppendVarint(dst, v.I)
		case Float:
			dst = append(dst, byte(v.Kind))
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.F))
		case Date, Timestamp, TimestampTZ:
			if v.S != "" {
				dst = appendString(append(dst, byte(v.Kind)|flagS), v.S)
				continue
			}
			dst = append(dst, byte(v.Kind))
			dst = binary.AppendVarint(dst, v.T.Unix())
			dst = binary.AppendUvarint(dst, uint64(v.T.Nanosecond()))
		case Bytes, Geometry:
			if v.B == nil && v.S != "" {
				dst = appendString(append(dst, byte(v.Kind)|flagS), v.S)
				continue
			}
			dst = append(dst, byte(v.Kind))
			dst = binary.AppendUvarint(dst, uint64(len(v.B)))
			dst = append(dst, v.B...)
		default:
			dst = appendString(append(dst, byte(v.Kind)), v.S)
		}
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

var errCorrupt = errors.New("corrupt row encoding")

// DecodeRow decodes a row encoded by AppendRow into row (reusing its
// capacity) and returns it.
func DecodeRow(src []byte, row Row) (Row, error) {
	n, k := binary.Uvarint(src)
	if k <= 0 || n > uint64(len(src)) {
		return nil, errCorrupt
	}
	src = src[k:]
	if cap(row) < int(n) {
		row = make(Row, n)
	}
	row = row[:n]
	for i := range row {
		if len(src) == 0 {
			return nil, errCorrupt
		}
		tag := src[0]
		src = src[1:]
		kind := Kind(tag &^ flagS)
		v := Value{Kind: kind}
		var err error
		switch {
		case kind == Null:
		case tag&flagS != 0:
			v.S, src, err = readString(src)
		case kind == Int || kind == Bool:
			v.I, src, err = readVarint(src)
		case kind == Float:
			if len(src) < 8 {
				return nil, errCorrupt
			}
			v.F = math.Float64frombits(binary.LittleEndian.Uint64(src))
			src = src[8:]
		case kind == Date || kind == Timestamp || kind == TimestampTZ:
			var sec int64
			if sec, src, err = readVarint(src); err != nil {
				return nil, err
			}
			ns, k := binary.Uvarint(src)
			if k <= 0 || ns >= 1e9 {
				return nil, errCorrupt
			}
			src = src[k:]
			v.T = time.Unix(sec, int64(ns)).UTC()
		case kind == Bytes || kind == Geometry:
			var s string
			s, src, err = readString(src)
			v.B = []byte(s)
		case kind <= Geometry:
			v.S, src, err = readString(src)
		default:
			return nil, fmt.Errorf("%w: unknown kind %d", errCorrupt, kind)
		}
		if err != nil {
			return nil, err
		}
		row[i] = v
	}
	return row, nil
}

func readVarint(src []byte) (int64, []byte, error) {
	v, k := binary.Varint(src)
	if k <= 0 {
		return 0, nil, errCorrupt
	}
	return v, src[k:], nil
}

func readString(src []byte) (string, []byte, error) {
	n, k := binary.Uvarint(src)
	if k <= 0 || n > uint64(len(src)-k) {
		return "", nil, errCorrupt
	}
	return string(src[k : k+int(n)]), src[k+int(n):], nil
}
