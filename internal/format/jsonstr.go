package format

import (
	"unicode/utf8"

	"github.com/countydatasync/countysync/internal/record"
)

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
		return record.ScanJSONNumber(s, i)
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
