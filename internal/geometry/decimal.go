package geometry

import (
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// pow10f holds the exactly representable powers of ten 1e0 … 1e17.
var pow10f = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17}

// fastLimit bounds |v × 10^decimals| for the fast path of appendDecimal:
// below 2^40 the product's rounding error is under 2^-13.
const fastLimit = 1 << 40

// appendDecimal appends finite v rounded to decimals decimals (as
// strconv.AppendFloat(dst, v, 'f', decimals, 64) does: correctly rounded,
// ties to even) with trailing zeros and a trailing '.' trimmed and "-0"
// written as "0".
//
// The fast path rounds v × 10^decimals in float64 and prints the integer;
// it is exact unless the product lies within 2^-12 of a tie, where it
// falls back to strconv (tests compare both on many random values).
func appendDecimal(dst []byte, v float64, decimals int) []byte {
	x := v * pow10f[decimals]
	if ax := math.Abs(x); ax < fastLimit {
		t := int64(ax) // floor, as ax >= 0
		switch f := ax - float64(t); {
		case f < 0.5-1.0/4096:
			return appendScaled(dst, uint64(t), decimals, v < 0)
		case f > 0.5+1.0/4096:
			return appendScaled(dst, uint64(t)+1, decimals, v < 0)
		}
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, v, 'f', decimals, 64)
	if decimals > 0 {
		end := len(dst)
		for dst[end-1] == '0' {
			end--
		}
		if dst[end-1] == '.' {
			end--
		}
		dst = dst[:end]
	}
	if len(dst)-start == 2 && dst[start] == '-' && dst[start+1] == '0' {
		dst[start] = '0'
		dst = dst[:start+1]
	}
	return dst
}

// digitPairs holds "00" … "99" for printing two digits at a time.
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// appendScaled appends n × 10^-decimals, without trailing zeros, with a
// minus sign if neg and n is not 0. It writes the digits in place, two at
// a time, from the right.
func appendScaled(dst []byte, n uint64, decimals int, neg bool) []byte {
	if n == 0 {
		return append(dst, '0')
	}
	for decimals > 0 && n%10 == 0 {
		n /= 10
		decimals--
	}
	nd := bits.Len64(n) * 1233 >> 12 // ⌊log10(n)⌋ or one less
	if nd < len(pow10u) && n >= pow10u[nd] {
		nd++
	}
	size := max(nd-decimals, 1) // integer digits
	if decimals > 0 {
		size += 1 + decimals
	}
	if neg {
		size++
	}
	start := len(dst)
	dst = slices.Grow(dst, size)[:start+size]
	b := dst[start:]
	i := size
	for k := decimals; k >= 2; k -= 2 {
		q := n / 100
		r := 2 * (n - 100*q)
		i -= 2
		b[i], b[i+1] = digitPairs[r], digitPairs[r+1]
		n = q
	}
	if decimals&1 == 1 {
		q := n / 10
		i--
		b[i] = byte('0' + n - 10*q)
		n = q
	}
	if decimals > 0 {
		i--
		b[i] = '.'
	}
	for n >= 100 {
		q := n / 100
		r := 2 * (n - 100*q)
		i -= 2
		b[i], b[i+1] = digitPairs[r], digitPairs[r+1]
		n = q
	}
	if n >= 10 {
		i -= 2
		b[i], b[i+1] = digitPairs[2*n], digitPairs[2*n+1]
	} else {
		i--
		b[i] = byte('0' + n)
	}
	if neg {
		b[0] = '-'
	}
	return dst
}
