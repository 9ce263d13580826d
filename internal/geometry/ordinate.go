package geometry

import (
	"math"
	"strconv"
)

// PostGIS (liblwgeom lwprint_double) prints ordinates with at most 15
// decimals, in fixed notation between 1e-8 and 1e15 and in scientific
// notation outside, always starting from the shortest round-trip digits.
const (
	ordinateDecimals = 15
	ordinateMinFixed = 1e-8
	ordinateMaxFixed = 1e15
)

var pow10u = [...]uint64{
	1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// appendOrdinate appends v exactly as PostGIS 3 ST_AsText prints it:
// "-77.0365298", "0.3" for 0.30000000000000004, "1e+20", "5e-13", "0" for
// -0, "NaN", "Infinity".
func appendOrdinate(dst []byte, v float64) []byte {
	switch {
	case v != v:
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(v, -1):
		return append(dst, "-Infinity"...)
	case v == 0:
		return append(dst, '0')
	}
	if a := math.Abs(v); a > ordinateMinFixed && a < 1e8 {
		// Most common case: v has a round-tripping form with at most 7
		// decimals. Below 1e8 doubles are closer than 1e-7, so that form
		// is unique and its trimmed digits are the shortest ones.
		if n := math.Round(a * 1e7); n/1e7 == a {
			return appendScaled(dst, uint64(n), 7, v < 0)
		}
	}
	if a := math.Abs(v); a > ordinateMinFixed && a < ordinateMaxFixed {
		// Common case: the shortest digits need at most 15 decimals.
		start := len(dst)
		dst = strconv.AppendFloat(dst, v, 'f', -1, 64)
		dot := len(dst)
		for i := start; i < len(dst); i++ {
			if dst[i] == '.' {
				dot = i
				break
			}
		}
		if len(dst)-dot-1 <= ordinateDecimals {
			return dst
		}
		dst = dst[:start]
	}
	// Shortest round-trip digits as an integer mantissa and a decimal
	// exponent: v = ±mant × 10^exp.
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], v, 'e', -1, 64) // "-d.ddde-07"
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	var mant uint64
	nd, i := 0, 0
	for ; s[i] != 'e'; i++ {
		if c := s[i]; c != '.' {
			mant = mant*10 + uint64(c-'0')
			nd++
		}
	}
	e10 := 0
	esign := s[i+1]
	for _, c := range s[i+2:] {
		e10 = e10*10 + int(c-'0')
	}
	if esign == '-' {
		e10 = -e10
	}
	if a := math.Abs(v); a > ordinateMinFixed && a < ordinateMaxFixed {
		return appendFixed(dst, mant, e10-(nd-1), neg)
	}
	// Scientific: the mantissa as d.ddd (at most 15 decimals), then the
	// exponent of the shortest digits with its sign and no padding.
	dst = appendFixed(dst, mant, 1-nd, neg)
	dst = append(dst, 'e')
	if e10 < 0 {
		dst = append(dst, '-')
		e10 = -e10
	} else {
		dst = append(dst, '+')
	}
	return strconv.AppendInt(dst, int64(e10), 10)
}

// appendFixed prints mant × 10^exp in fixed notation with at most
// ordinateDecimals decimals, rounding the decimal digits half to even and
// dropping trailing zeros, as PostGIS's ryu-based to_chars_fixed does.
func appendFixed(dst []byte, mant uint64, exp int, neg bool) []byte {
	if exp < 0 && -exp > ordinateDecimals {
		trim := -exp - ordinateDecimals
		if trim > decimalLen(mant) {
			mant, exp = 0, 0
		} else {
			div := pow10u[trim]
			q, r := mant/div, mant%div
			mant = q
			exp += trim
			if half := div / 2; r > half || r == half && q&1 == 1 {
				mant++
			}
			for mant != 0 && mant%10 == 0 {
				mant /= 10
				exp++
			}
		}
	}
	if neg && mant != 0 {
		dst = append(dst, '-')
	}
	if exp >= 0 {
		dst = strconv.AppendUint(dst, mant, 10)
		for range exp {
			dst = append(dst, '0')
		}
		return dst
	}
	p := pow10u[-exp]
	dst = strconv.AppendUint(dst, mant/p, 10)
	if frac := mant % p; frac != 0 {
		dst = append(dst, '.')
		for range -exp - decimalLen(frac) {
			dst = append(dst, '0')
		}
		dst = strconv.AppendUint(dst, frac, 10)
	}
	return dst
}

// decimalLen is the number of decimal digits of v (1 for 0).
func decimalLen(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}
