package redact_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/countydatasync/countysync/internal/redact"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		// URLs that parse.
		"postgres://u:hunter2@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"redis://:hunter2@h:6379/0":                      "redis://:xxxxx@h:6379/0",
		"s3://b/p?endpoint=h&secret_key=hunter2":         "s3://b/p?endpoint=h&secret_key=xxxxx",
		"postgres://u@h/db?password=hunter2&sslmode=off": "postgres://u@h/db?password=xxxxx&sslmode=off",
		"https://h/p?access_token=hunter2&key=hunter2":   "https://h/p?access_token=xxxxx&key=xxxxx",
		"sqlite:///a/b.db":                               "sqlite:///a/b.db",
		"redis://u@h:6379/0":                             "redis://u@h:6379/0",
		"file://./exports":                               "file://./exports",
		// URLs that do not parse.
		"postgres://county:hunter2%zz@127.0.0.1:5432/county": "postgres://county:xxxxx@127.0.0.1:5432/county",
		"postgres://county:hunter2@127.0.0.1:notaport/c":     "postgres://county:xxxxx@127.0.0.1:notaport/c",
		"redis://u:hunter2@h/1\x7f%zz":                       "redis://u:xxxxx@h/1\x7f%zz",
		"redis://hunter2@h:x/0":                              "redis://xxxxx@h:x/0",
		"postgres://u:pa/ss@w0rd@h:x/db":                     "postgres://u:xxxxx@h:x/db",
		"postgres://h:x/db?password=hunter2":                 "postgres://h:x/db?password=xxxxx",
		// PostgreSQL key=value connection strings.
		"host=h user=u password=hunter2 dbname=d":           "host=h user=u password=xxxxx dbname=d",
		"host=h password='hun ter\\'2' dbname=d":            "host=h password=xxxxx dbname=d",
		"host=h PASSWORD = hunter2":                         "host=h password=xxxxx",
		"host=h user=u dbname=d":                            "host=h user=u dbname=d",
		"host=h sslpassword=hunter2 password=hunter2 user=": "host=h sslpassword=xxxxx password=xxxxx user=",
	} {
		got := redact.URL(in)
		if got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "hunter2") || strings.Contains(got, "hun ter") {
			t.Errorf("URL(%q) = %q shows the password", in, got)
		}
	}
}

// TestURLKeepsTheRest checks with net/url that masking changes nothing but
// the password: scheme, user, host, path and the other parameters stay.
func TestURLKeepsTheRest(t *testing.T) {
	for _, pw := range []string{"p", "p@ss:w/rd", "sp ace", "%41", "xxxxx", "ünï", "a&b=c"} {
		u := &url.URL{Scheme: "postgres", User: url.UserPassword("county", pw), Host: "db.example:5432", Path: "/county", RawQuery: "sslmode=disable&application_name=x"}
		in := u.String()
		got := redact.URL(in)
		p, err := url.Parse(got)
		if err != nil {
			t.Fatalf("URL(%q) = %q does not parse: %v", in, got, err)
		}
		if gotPW, _ := p.User.Password(); gotPW != redact.Mask {
			t.Errorf("URL(%q): password %q", in, gotPW)
		}
		if p.User.Username() != "county" || p.Host != u.Host || p.Path != u.Path || p.Query().Encode() != u.Query().Encode() {
			t.Errorf("URL(%q) = %q changed more than the password", in, got)
		}
	}
}

func TestPasswords(t *testing.T) {
	for in, want := range map[string][]string{
		"postgres://u:hunter2@h/db":                  {"hunter2"},
		"postgres://u:hun%40ter2@h/db":               {"hun%40ter2"},
		"postgres://u@h/db?password=hunter2&x=1":     {"hunter2"},
		"host=h password='it\\'s \\\\ here' user=u":  {`it's \ here`},
		"host=h password=hunter2":                    {"hunter2"},
		"postgres://u:@h/db":                         nil,
		"host=h user=u":                              nil,
		"postgres://u:a@b@h:x/db?password=c&sslmode": {"a@b", "c"},
	} {
		got := redact.Passwords(in)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("Passwords(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct {
		text    string
		secrets []string
		want    string
	}{
		{"auth failed for hunter2", []string{"hunter2"}, "auth failed for xxxxx"},
		{"bad escape in hun%40ter", []string{"hun@ter"}, "bad escape in xxxxx"},
		{"user hun@ter said", []string{"hun%40ter"}, "user xxxxx said"},
		{"a+b and a b and a%2Bb", []string{"a+b"}, "xxxxx and xxxxx and xxxxx"},
		// The longer secret is masked whole, not around the shorter one.
		{"pw=abcdef", []string{"abc", "abcdef"}, "pw=xxxxx"},
		{"nothing here", []string{""}, "nothing here"},
		{"nothing here", nil, "nothing here"},
	} {
		if got := redact.Text(c.text, c.secrets...); got != c.want {
			t.Errorf("Text(%q, %q) = %q, want %q", c.text, c.secrets, got, c.want)
		}
	}
}
