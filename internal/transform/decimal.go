package transform

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Decimal is an exact decimal number: an arbitrary-precision integer
// coefficient and a scale (the number of digits after the decimal point).
// Numeric column values reach expressions as *Decimal, so money stays exact
// through arithmetic and rounding. A Decimal is immutable once built: every
// operation returns a new one, which lets one value be shared between the
// expression's value and row.
//
// The scale rules follow PostgreSQL's numeric type: addition and subtraction
// keep the larger scale, multiplication adds the scales, division keeps at
// least 16 significant digits (see the package documentation), and
// round(x, n) yields exactly n decimals.
type Decimal struct {
	coef  big.Int // unscaled value: the number is coef * 10^-scale
	scale int32   // >= 0
}

// maxScale bounds the scale of computed decimals (PostgreSQL's limit for
// numeric display scale is 1000 as well).
const maxScale = 1000

// maxDigits bounds the number of digits a parsed decimal may carry, so a
// hostile literal such as "1e999999999" cannot allocate without bound.
const maxDigits = 1 << 17

var (
	errDivisionByZero = errors.New("division by zero")
	bigTen            = big.NewInt(10)
)

// pow10 caches small powers of ten.
var pow10 = func() []*big.Int {
	p := make([]*big.Int, 40)
	p[0] = big.NewInt(1)
	for i := 1; i < len(p); i++ {
		p[i] = new(big.Int).Mul(p[i-1], bigTen)
	}
	return p
}()

// pow10Int returns 10^n (n >= 0). The result must not be modified.
func pow10Int(n int) *big.Int {
	if n < len(pow10) {
		return pow10[n]
	}
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// ParseDecimal parses decimal text such as "-12.3400", "+.5", "7." or
// "1.5e-3". The scale of the result is the number of digits written after
// the point, adjusted by the exponent (never negative). "NaN" and the
// infinities are not decimals and are rejected.
func ParseDecimal(s string) (*Decimal, error) {
	orig := s
	if s == "" {
		return nil, fmt.Errorf("invalid decimal %q", orig)
	}
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > maxDigits || e < -maxDigits {
			return nil, fmt.Errorf("invalid decimal %q", orig)
		}
		exp = e
		s = s[:i]
	}
	if s == "" {
		return nil, fmt.Errorf("invalid decimal %q", orig)
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
	}
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) || len(s) > maxDigits {
		return nil, fmt.Errorf("invalid decimal %q", orig)
	}
	d := new(Decimal)
	if len(intPart)+len(frac) <= 18 {
		// Fast path: the coefficient fits in an int64.
		var n int64
		for i := 0; i < len(intPart); i++ {
			n = n*10 + int64(intPart[i]-'0')
		}
		for i := 0; i < len(frac); i++ {
			n = n*10 + int64(frac[i]-'0')
		}
		d.coef.SetInt64(n)
	} else if _, ok := d.coef.SetString(intPart+frac, 10); !ok {
		return nil, fmt.Errorf("invalid decimal %q", orig)
	}
	scale := len(frac) - exp
	if scale < 0 {
		d.coef.Mul(&d.coef, pow10Int(-scale))
		scale = 0
	}
	if scale > maxDigits {
		return nil, fmt.Errorf("invalid decimal %q: too many decimals", orig)
	}
	d.scale = int32(scale)
	if neg {
		d.coef.Neg(&d.coef)
	}
	return d, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// decimalFromInt returns i as a Decimal of scale 0.
func decimalFromInt(i int64) *Decimal {
	d := new(Decimal)
	d.coef.SetInt64(i)
	return d
}

// decimalFromFloat returns the shortest decimal that round-trips f. It
// reports false for NaN and infinities.
func decimalFromFloat(f float64) (*Decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, false
	}
	d, err := ParseDecimal(strconv.FormatFloat(f, 'g', -1, 64))
	if err != nil {
		return nil, false
	}
	return d, true
}

// String returns the exact decimal text with exactly Scale digits after the
// point ("-0.50", "12", "0.001").
func (d *Decimal) String() string {
	var buf [48]byte
	return string(d.appendText(buf[:0]))
}

// appendText appends the text of d to dst.
func (d *Decimal) appendText(dst []byte) []byte {
	var buf [40]byte
	var digits []byte
	if d.coef.IsInt64() {
		digits = strconv.AppendInt(buf[:0], d.coef.Int64(), 10)
	} else {
		digits = d.coef.Append(buf[:0], 10)
	}
	if len(digits) > 0 && digits[0] == '-' {
		dst = append(dst, '-')
		digits = digits[1:]
	}
	scale := int(d.scale)
	if scale == 0 {
		return append(dst, digits...)
	}
	if len(digits) <= scale {
		dst = append(dst, '0', '.')
		for i := len(digits); i < scale; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[:len(digits)-scale]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-scale:]...)
}

// MarshalJSON writes d as a JSON number with its exact digits.
func (d *Decimal) MarshalJSON() ([]byte, error) { return d.appendText(nil), nil }

// Scale returns the number of digits after the decimal point.
func (d *Decimal) Scale() int { return int(d.scale) }

// Sign returns -1, 0 or +1.
func (d *Decimal) Sign() int { return d.coef.Sign() }

// Float64 returns the float64 nearest to d.
func (d *Decimal) Float64() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// Cmp compares d and e and returns -1, 0 or +1. Scale does not matter:
// 1.0 and 1.00 are equal.
func (d *Decimal) Cmp(e *Decimal) int {
	a, b := align(d, e)
	return a.Cmp(b)
}

// align returns the coefficients of d and e brought to the same scale.
// The results may alias the inputs' coefficients and must not be modified.
func align(d, e *Decimal) (*big.Int, *big.Int) {
	switch {
	case d.scale == e.scale:
		return &d.coef, &e.coef
	case d.scale < e.scale:
		return new(big.Int).Mul(&d.coef, pow10Int(int(e.scale-d.scale))), &e.coef
	default:
		return &d.coef, new(big.Int).Mul(&e.coef, pow10Int(int(d.scale-e.scale)))
	}
}

// add returns d + e with the larger scale.
func (d *Decimal) add(e *Decimal) *Decimal {
	a, b := align(d, e)
	r := &Decimal{scale: max(d.scale, e.scale)}
	r.coef.Add(a, b)
	return r
}

// sub returns d - e with the larger scale.
func (d *Decimal) sub(e *Decimal) *Decimal {
	a, b := align(d, e)
	r := &Decimal{scale: max(d.scale, e.scale)}
	r.coef.Sub(a, b)
	return r
}

// mul returns d * e with the sum of the scales.
func (d *Decimal) mul(e *Decimal) (*Decimal, error) {
	if int(d.scale)+int(e.scale) > maxScale {
		return nil, fmt.Errorf("decimal scale exceeds %d digits", maxScale)
	}
	r := &Decimal{scale: d.scale + e.scale}
	r.coef.Mul(&d.coef, &e.coef)
	if r.coef.BitLen() > maxDigits*4 {
		return nil, errors.New("decimal result too large")
	}
	return r, nil
}

// digitCount returns the number of decimal digits of |x| (1 for zero).
func digitCount(x *big.Int) int {
	if x.Sign() == 0 {
		return 1
	}
	// An estimate from the bit length, corrected by one comparison.
	n := int(float64(x.BitLen()-1)*math.Log10(2)) + 1
	abs := new(big.Int).Abs(x)
	if abs.Cmp(pow10Int(n)) >= 0 {
		n++
	} else if n > 1 && abs.Cmp(pow10Int(n-1)) < 0 {
		n--
	}
	return n
}

// quo returns d / e rounded half away from zero, with the result scale
// PostgreSQL's numeric division chooses (select_div_scale): at least 16
// significant digits, estimated from the base-10000 digit groups of the
// operands, and at least the larger of the operands' scales.
func (d *Decimal) quo(e *Decimal) (*Decimal, error) {
	if e.coef.Sign() == 0 {
		return nil, errDivisionByZero
	}
	w1, f1 := d.pgLeadingGroup()
	w2, f2 := e.pgLeadingGroup()
	qweight := w1 - w2
	if f1 <= f2 {
		qweight--
	}
	scale := max(16-4*qweight, int(d.scale), int(e.scale), 0)
	scale = min(scale, maxScale)
	// q = d.coef * 10^(scale - d.scale + e.scale) / e.coef
	num := new(big.Int).Set(&d.coef)
	den := new(big.Int).Set(&e.coef)
	if shift := scale - int(d.scale) + int(e.scale); shift >= 0 {
		num.Mul(num, pow10Int(shift))
	} else {
		den.Mul(den, pow10Int(-shift))
	}
	r := &Decimal{scale: int32(scale)}
	quoRoundHalfAway(&r.coef, num, den)
	return r, nil
}

// pgLeadingGroup returns the weight and value of the first non-zero
// base-10000 digit group of d, as PostgreSQL stores numerics (groups are
// aligned on the decimal point): 12345.6 has groups 1|2345.6000, weight 1
// and first group 1; 0.5 has weight -1 and first group 5000. Zero gives 0, 0.
func (d *Decimal) pgLeadingGroup() (weight int, first int64) {
	if d.coef.Sign() == 0 {
		return 0, 0
	}
	exp := digitCount(&d.coef) - 1 - int(d.scale) // decimal exponent of the leading digit
	weight = exp / 4
	if exp < 0 && exp%4 != 0 {
		weight-- // floor division
	}
	g := new(big.Int).Abs(&d.coef)
	if shift := int(d.scale) + 4*weight; shift >= 0 {
		g.Quo(g, pow10Int(shift))
	} else {
		g.Mul(g, pow10Int(-shift))
	}
	return weight, g.Int64()
}

// quoRoundHalfAway sets z = num/den rounded half away from zero.
func quoRoundHalfAway(z, num, den *big.Int) {
	rem := new(big.Int)
	z.QuoRem(num, den, rem)
	if rem.Sign() == 0 {
		return
	}
	rem.Abs(rem).Lsh(rem, 1)
	if rem.CmpAbs(den) >= 0 {
		if num.Sign()*den.Sign() < 0 {
			z.Sub(z, big.NewInt(1))
		} else {
			z.Add(z, big.NewInt(1))
		}
	}
}

// rem returns the remainder of d / e truncated toward zero (the sign of
// d), with the larger scale, like PostgreSQL's numeric mod.
func (d *Decimal) rem(e *Decimal) (*Decimal, error) {
	if e.coef.Sign() == 0 {
		return nil, errDivisionByZero
	}
	a, b := align(d, e)
	r := &Decimal{scale: max(d.scale, e.scale)}
	r.coef.Rem(a, b)
	return r, nil
}

// neg returns -d.
func (d *Decimal) neg() *Decimal {
	r := &Decimal{scale: d.scale}
	r.coef.Neg(&d.coef)
	return r
}

// abs returns |d|.
func (d *Decimal) abs() *Decimal {
	if d.coef.Sign() >= 0 {
		return d
	}
	return d.neg()
}

// round returns d rounded half away from zero to n decimals. For n >= 0 the
// result has exactly n decimals (padding with zeros); for n < 0 it is
// rounded to a multiple of 10^-n with scale 0, like PostgreSQL's
// round(numeric, int).
func (d *Decimal) round(n int) (*Decimal, error) {
	if n > maxScale {
		return nil, fmt.Errorf("round: %d decimals exceeds the limit of %d", n, maxScale)
	}
	if n < -maxScale {
		n = -maxScale
	}
	cur := int(d.scale)
	if n >= cur {
		r := &Decimal{scale: int32(n)}
		r.coef.Mul(&d.coef, pow10Int(n-cur))
		return r, nil
	}
	r := &Decimal{scale: int32(max(n, 0))}
	if shift := cur - n; shift <= 18 && d.coef.IsInt64() {
		// Fast path in int64 arithmetic.
		x, p := d.coef.Int64(), pow10Int(shift).Int64()
		q, rem := x/p, x%p
		if rem < 0 {
			rem = -rem
		}
		if rem >= p-rem { // 2*rem >= p without overflow
			if x < 0 {
				q--
			} else {
				q++
			}
		}
		r.coef.SetInt64(q)
	} else {
		quoRoundHalfAway(&r.coef, &d.coef, pow10Int(cur-n))
	}
	if n < 0 {
		r.coef.Mul(&r.coef, pow10Int(-n))
	}
	return r, nil
}

// trunc returns d truncated toward zero to an integer (scale 0).
func (d *Decimal) trunc() *Decimal {
	if d.scale == 0 {
		return d
	}
	r := new(Decimal)
	r.coef.Quo(&d.coef, pow10Int(int(d.scale)))
	return r
}

// isInt reports whether d has no non-zero fractional digits.
func (d *Decimal) isInt() bool {
	if d.scale == 0 {
		return true
	}
	return new(big.Int).Rem(&d.coef, pow10Int(int(d.scale))).Sign() == 0
}

// int64 returns d as an int64 if it is integral and fits.
func (d *Decimal) int64() (int64, bool) {
	if !d.isInt() {
		return 0, false
	}
	t := d.trunc()
	if !t.coef.IsInt64() {
		return 0, false
	}
	return t.coef.Int64(), true
}
