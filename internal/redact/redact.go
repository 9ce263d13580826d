package redact

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Mask replaces every secret.
const Mask = "xxxxx"

// dsnPassword matches a password= setting of a key=value connection
// string or a query string: a bare value up to '&' or white space, or a
// single-quoted value with backslash escapes.
var dsnPassword = regexp.MustCompile(`(?i)password\s*=\s*('(?:[^'\\]|\\.)*'|[^&\s]*)`)

// URL returns s, a URL or a PostgreSQL key=value connection string
// ("host=h user=u password=p"), with its secrets masked:
//
//   - the password of the userinfo: "postgres://u:xxxxx@h/db";
//   - query parameters named like secrets (their name contains password,
//     secret or token, or is key): "s3://b/p?secret_key=xxxxx";
//   - password= settings of a key=value string, quoted or not:
//     "host=h password=xxxxx".
//
// A URL that does not parse keeps everything but the userinfo after the
// user name (all of it when it has no ':'), so its password is masked
// even then; its password= parameters are masked too.
func URL(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return dsnPassword.ReplaceAllString(s, "password="+Mask)
	}
	p, err := url.Parse(s)
	if err != nil || !parsedUserinfo(s, i, p) {
		return dsnPassword.ReplaceAllString(rawUserinfo(s, i), "password="+Mask)
	}
	if p.User != nil {
		if _, has := p.User.Password(); has {
			p.User = url.UserPassword(p.User.Username(), Mask)
		}
	}
	q := p.Query()
	changed := false
	for k := range q {
		if secretName(k) {
			q.Set(k, Mask)
			changed = true
		}
	}
	if changed {
		p.RawQuery = q.Encode()
	}
	return p.String()
}

// parsedUserinfo reports whether p, parsed from s, took as its userinfo
// everything between "://" (at i) and the last '@', as a password pasted
// raw into a URL would be read by a person. A password with '/', '?' or
// '#' ends the authority early ("redis://:123/x@h" parses as host "",
// port 123): then the parse cannot be trusted to find the password.
func parsedUserinfo(s string, i int, p *url.URL) bool {
	rest := s[i+3:]
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return p.User == nil
	}
	return p.User != nil && p.User.String() == rest[:at]
}

// secretName reports whether a query parameter is named like a secret.
func secretName(k string) bool {
	k = strings.ToLower(k)
	return strings.Contains(k, "password") || strings.Contains(k, "secret") || strings.Contains(k, "token") || k == "key"
}

// rawUserinfo masks the userinfo of s, a URL that does not parse, whose
// "://" is at i: everything after the user name up to the last '@'.
func rawUserinfo(s string, i int) string {
	rest := s[i+3:]
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return s
	}
	user := Mask
	if c := strings.IndexByte(rest[:at], ':'); c >= 0 {
		user = rest[:c] + ":" + Mask
	}
	return s[:i+3] + user + rest[at:]
}

// Passwords returns the passwords written in a connection string, as
// written: the userinfo password of a URL (also when the URL does not
// parse) and the values of its password= settings, unquoted. Pass them
// to Text to mask them in messages that quote them.
func Passwords(conn string) []string {
	var out []string
	if i := strings.Index(conn, "://"); i >= 0 {
		rest := conn[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if c := strings.IndexByte(rest[:at], ':'); c >= 0 && c+1 < at {
				out = append(out, rest[c+1:at])
			}
		}
	}
	for _, m := range dsnPassword.FindAllStringSubmatch(conn, -1) {
		v := m[1]
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = strings.ReplaceAll(strings.ReplaceAll(v[1:len(v)-1], `\'`, `'`), `\\`, `\`)
		}
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Text returns text with every occurrence of each secret masked, in the
// spellings a message may quote it in: as given, URL-escaped (query and
// path escaping) and URL-unescaped. Longer spellings are masked first, so
// a secret that contains another is masked whole. Empty secrets are
// ignored.
func Text(text string, secrets ...string) string {
	var spellings []string
	add := func(s string) {
		if s != "" && !slices.Contains(spellings, s) {
			spellings = append(spellings, s)
		}
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		add(s)
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		if u, err := url.PathUnescape(s); err == nil {
			add(u)
		}
		if u, err := url.QueryUnescape(s); err == nil {
			add(u)
		}
	}
	slices.SortStableFunc(spellings, func(a, b string) int { return len(b) - len(a) })
	for _, s := range spellings {
		text = strings.ReplaceAll(text, s, Mask)
	}
	return text
}
