package redact_test

import (
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/countydatasync/countysync/internal/redact"
)

// connForms returns the ways a password pw reaches a connection string:
// substituted raw into a URL by ${VAR} expansion (as the README shows),
// URL-escaped, and in PostgreSQL key=value strings, quoted and bare.
func connForms(pw string) []string {
	esc := func(scheme, user, path string) string {
		u := url.URL{Scheme: scheme, User: url.UserPassword(user, pw), Host: "127.0.0.1:5432", Path: path}
		return u.String()
	}
	forms := []string{
		"postgres://county:" + pw + "@127.0.0.1:5432/county?sslmode=disable",
		esc("postgres", "county", "/county"),
		"redis://:" + pw + "@127.0.0.1:6379/11",
		"rediss://default:" + pw + "@127.0.0.1:6380/0",
		esc("redis", "", "/11"),
		"host=127.0.0.1 user=county password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "' dbname=county",
	}
	if !strings.ContainsAny(pw, " \t\n'\\&") {
		forms = append(forms, "host=127.0.0.1 user=county password="+pw+" dbname=county")
	}
	return forms
}

// A password of any printable characters is masked in every connection
// string form (red-team S2: Redis passwords with / # ?, PostgreSQL ones
// with @): by URL alone, as the Redis store and config errors use it, and
// by Text with the Passwords of the string, as the PostgreSQL source masks
// its driver's messages.
func FuzzPasswordNeverShown(f *testing.F) {
	for _, s := range []string{
		"pa/ssw0rdXYZ", "pa#ssw0rdXYZ", "pa?ssw0rdXYZ", "p@ssw0rdXYZ", "123/secret", "8080#frag",
		"a%zzsecret", "with space", "col:on", `quo'te`, "[br]ack", "back\\slash", "a@b/c?d#e",
		"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "@@@@@@", "secret@127.0.0.1:5432/county",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		if len(pw) < 6 {
			return
		}
		for _, r := range pw {
			if r > unicode.MaxASCII || !unicode.IsPrint(r) {
				return
			}
		}
		for i, form := range connForms(pw) {
			// What the output would hold anyway, with a harmless password.
			dummy := connForms("Q")[i]
			for name, out := range map[string]string{
				"URL":  redact.URL(form),
				"Text": redact.Text(form, redact.Passwords(form)...),
				"both": redact.Text(redact.URL(form), redact.Passwords(form)...),
			} {
				if strings.Contains(out, pw) && !strings.Contains(redact.URL(dummy)+" "+dummy, pw) {
					t.Errorf("%s(%q) = %q shows the password", name, form, out)
				}
			}
		}
	})
}
