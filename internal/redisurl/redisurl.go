package redisurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/countydatasync/countysync/internal/redact"
)

// Scheme is the scheme of a Redis behind Sentinel.
const Scheme = "redis-sentinel"

// Sentinel is a parsed redis-sentinel:// URL.
type Sentinel struct {
	// Addrs are the Sentinels' host:port.
	Addrs []string
	// Master is the name of the primary the Sentinels monitor.
	Master   string
	Username string
	Password string
	DB       int
}

// IsSentinel reports whether raw is a redis-sentinel:// URL.
func IsSentinel(raw string) bool { return strings.HasPrefix(raw, Scheme+"://") }

// ParseSentinel parses a redis-sentinel:// URL (see the package
// documentation). Errors show the URL with its password masked.
func ParseSentinel(raw string) (*Sentinel, error) {
	bad := func(err error) (*Sentinel, error) {
		return nil, fmt.Errorf("invalid Redis URL %s: %w (want %s://[:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB])", redact.URL(raw), err, Scheme)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return bad(err)
	}
	if u.Scheme != Scheme {
		return bad(fmt.Errorf("scheme is %q", u.Scheme))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return bad(errors.New("no query or fragment is known"))
	}
	s := &Sentinel{}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	for _, h := range strings.Split(u.Host, ",") {
		if h == "" {
			return bad(errors.New("an empty Sentinel address"))
		}
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			return bad(fmt.Errorf("Sentinel address %q is not HOST:PORT", h))
		}
		s.Addrs = append(s.Addrs, h)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) == 0 || parts[0] == "" || len(parts) > 2 {
		return bad(errors.New("the path must be /MASTER or /MASTER/DB"))
	}
	s.Master = parts[0]
	if len(parts) == 2 {
		if s.DB, err = strconv.Atoi(parts[1]); err != nil || s.DB < 0 {
			return bad(fmt.Errorf("database %q is not a number", parts[1]))
		}
	}
	return s, nil
}

// String describes the Sentinel setup for messages, without secrets.
func (s *Sentinel) String() string {
	return fmt.Sprintf("master %s via sentinels %s (db %d)", s.Master, strings.Join(s.Addrs, ","), s.DB)
}
