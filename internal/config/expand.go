package config

import (
	"fmt"
	"os"
	"strings"
)

// expandEnv replaces ${VAR} and ${VAR:-default} in text with environment
// values; $$ stands for a literal $. A bare $ (as in SQL's $1) is left as
// is. A variable that is unset and has no default is an error naming the
// line.
func expandEnv(file, text string, lookup func(string) (string, bool)) (string, error) {
	out, missing, err := expandEnvLenient(file, text, lookup)
	if err == nil && len(missing) > 0 {
		err = missing[0].err
	}
	return out, err
}

// missingVar is a ${VAR} without a value and without a default.
type missingVar struct {
	line int
	err  error
}

// expandEnvLenient is expandEnv that replaces unset variables with "" and
// returns them, so a caller can forgive those in values an environment
// override replaces anyway.
func expandEnvLenient(file, text string, lookup func(string) (string, bool)) (string, []missingVar, error) {
	var missing []missingVar
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var b strings.Builder
	b.Grow(len(text))
	line := 1
	lineStart := true
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\n' {
			line++
			lineStart = true
			b.WriteByte(c)
			continue
		}
		if lineStart && c != ' ' && c != '\t' {
			lineStart = false
			if c == '#' { // a comment line: copy it unexpanded
				end := strings.IndexByte(text[i:], '\n')
				if end < 0 {
					end = len(text) - i
				}
				b.WriteString(text[i : i+end])
				i += end - 1
				continue
			}
		}
		if c != '$' || i+1 >= len(text) {
			b.WriteByte(c)
			continue
		}
		switch text[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(text[i+2:], '}')
		if end < 0 || strings.ContainsRune(text[i+2:i+2+end], '\n') {
			return "", nil, fmt.Errorf("%s:%d: unterminated ${ in environment reference", file, line)
		}
		ref := text[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validEnvName(name) {
			return "", nil, fmt.Errorf("%s:%d: invalid environment variable name %q in ${%s}", file, line, name, ref)
		}
		val, ok := lookup(name)
		switch {
		case ok && (val != "" || !hasDef):
		case hasDef:
			val = def
		default:
			missing = append(missing, missingVar{line, fmt.Errorf("%s:%d: environment variable %s is not set (use ${%s:-default} for a default)", file, line, name, name)})
		}
		b.WriteString(val)
		i += 2 + end
	}
	return b.String(), missing, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
