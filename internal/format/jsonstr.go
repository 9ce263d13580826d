package format

import (
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// jsonSafe[b] is true for ASCII bytes that go into a JSON string unchanged.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// appendJSONString appends s as a JSON string literal, quotes included.
// '"' and '\\' are escaped, control characters become \n, \r, \t or
// \u00XX, invalid UTF-8 becomes \ufffd, and U+2028/U+2029 are escaped so
// the output is also valid JavaScript. Everything else is copied as is.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// isJSONNumber reports whether s is a number as RFC 8259 defines it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(s string) bool {
	n, ok := scanJSONNumber(s, 0)
	return ok && n == len(s)
}

// scanJSONNumber scans a JSON number starting at s[i] and returns the
// index after it.
func scanJSONNumber(s string, i int) (int, bool) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return i, false
	}
	switch {
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return i, false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return i, false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i, true
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// isJSONText reports whether s is one complete JSON value (surrounding
// white space allowed). It is a small allocation-free validator used to
// make sure json/array values can be nested verbatim without corrupting
// the output file.
func isJSONText(s string) bool {
	i, ok := scanJSONValue(s, skipJSONSpace(s, 0), 0)
	return ok && skipJSONSpace(s, i) == len(s)
}

const maxJSONDepth = 10000

func skipJSONSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func scanJSONValue(s string, i, depth int) (int, bool) {
	if i >= len(s) || depth > maxJSONDepth {
		return i, false
	}
	switch c := s[i]; {
	case c == '{':
		i = skipJSONSpace(s, i+1)
		if i < len(s) && s[i] == '}' {
			return i + 1, true
		}
		for {
			var ok bool
			if i >= len(s) || s[i] != '"' {
				return i, false
			}
			if i, ok = scanJSONString(s, i); !ok {
				return i, false
			}
			i = skipJSONSpace(s, i)
			if i >= len(s) || s[i] != ':' {
				return i, false
			}
			if i, ok = scanJSONValue(s, skipJSONSpace(s, i+1), depth+1); !ok {
				return i, false
			}
			i = skipJSONSpace(s, i)
			if i >= len(s) {
				return i, false
			}
			if s[i] == '}' {
				return i + 1, true
			}
			if s[i] != ',' {
				return i, false
			}
			i = skipJSONSpace(s, i+1)
		}
	case c == '[':
		i = skipJSONSpace(s, i+1)
		if i < len(s) && s[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = scanJSONValue(s, i, depth+1); !ok {
				return i, false
			}
			i = skipJSONSpace(s, i)
			if i >= len(s) {
				return i, false
			}
			if s[i] == ']' {
				return i + 1, true
			}
			if s[i] != ',' {
				return i, false
			}
			i = skipJSONSpace(s, i+1)
		}
	case c == '"':
		return scanJSONString(s, i)
	case c == '-' || isDigit(c):
		return scanJSONNumber(s, i)
	case c == 't':
		return scanJSONLiteral(s, i, "true")
	case c == 'f':
		return scanJSONLiteral(s, i, "false")
	case c == 'n':
		return scanJSONLiteral(s, i, "null")
	}
	return i, false
}

func scanJSONLiteral(s string, i int, lit string) (int, bool) {
	if len(s)-i >= len(lit) && s[i:i+len(lit)] == lit {
		return i + len(lit), true
	}
	return i, false
}

// scanJSONString scans the string literal starting at the quote s[i].
func scanJSONString(s string, i int) (int, bool) {
	for i++; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(s) {
				return i, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) {
					return i, false
				}
				for _, h := range []byte(s[i+2 : i+6]) {
					if !isHex(h) {
						return i, false
					}
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return i, false
			}
			i += size
		}
	}
	return i, false
}

func isHex(b byte) bool {
	return isDigit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')
}
