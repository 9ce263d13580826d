package config

import (
	"net/url"
	"strings"
)

// RedactURL returns u with any password replaced by "xxxxx", for logs and
// error messages. Query parameters named like secrets are masked too.
func RedactURL(u string) string { return redactURL(u) }

func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		// Not parseable: mask everything between "://" and "@".
		if i := strings.Index(u, "://"); i >= 0 {
			if j := strings.LastIndexByte(u, '@'); j > i {
				return u[:i+3] + "xxxxx" + u[j:]
			}
		}
		return u
	}
	if p.User != nil {
		if _, has := p.User.Password(); has {
			p.User = url.UserPassword(p.User.Username(), "xxxxx")
		}
	}
	q := p.Query()
	changed := false
	for k := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "password") || strings.Contains(lk, "secret") || strings.Contains(lk, "token") || lk == "key" {
			q.Set(k, "xxxxx")
			changed = true
		}
	}
	if changed {
		p.RawQuery = q.Encode()
	}
	return p.String()
}
