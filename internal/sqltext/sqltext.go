package sqltext

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// QuoteIdent quotes name as an SQL identifier, the way both PostgreSQL
// and SQLite read one: in double quotes, with every inner double quote
// doubled. Any name can be quoted; CheckIdent tells whether the server
// can take it.
func QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// ErrBadIdent is returned (wrapped) by CheckIdent.
var ErrBadIdent = errors.New("identifier contains a NUL byte or invalid UTF-8")

// CheckIdent reports whether name can be sent as a quoted identifier:
// PostgreSQL refuses a NUL byte and invalid UTF-8 in any statement, and
// SQLite stops reading a statement at a NUL byte.
func CheckIdent(name string) error {
	if strings.IndexByte(name, 0) >= 0 || !utf8.ValidString(name) {
		return ErrBadIdent
	}
	return nil
}

// TrimStatement removes the white space around q and its trailing
// semicolons (with the space between them), so the statement can be
// wrapped as a subquery: "SELECT 1 ; ;\n" becomes "SELECT 1".
func TrimStatement(q string) string {
	q = strings.TrimSpace(q)
	for strings.HasSuffix(q, ";") {
		q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
	}
	return q
}
