package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/countydatasync/countysync/internal/redact"
	"github.com/countydatasync/countysync/internal/redisurl"
	"github.com/countydatasync/countysync/internal/state"
)

var _ state.Store = (*Store)(nil)

// DefaultPrefix starts every key when Open or NewFromClient is given an
// empty prefix.
const DefaultPrefix = state.DefaultPrefix

// DefaultLease is how long a lock lives without renewal unless WithLease
// says otherwise.
const DefaultLease = 2 * time.Minute

// Store is a state.Store in Redis. It is safe for concurrent use.
type Store struct {
	c      goredis.UniversalClient
	prefix string
	lease  time.Duration
	log    *slog.Logger
	owned  bool // Close closes c (Open made it)

	mu     sync.Mutex
	locks  map[*Lock]struct{} // locks whose renewer runs
	closed bool
}

// Option configures a Store.
type Option func(*Store)

// WithLease sets how long a lock lives without renewal (default
// DefaultLease). A held Lock renews it every lease/3.
func WithLease(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.lease = d
		}
	}
}

// WithLogger sets the logger for lock warnings (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) {
		if l != nil {
			s.log = l
		}
	}
}

// Open connects to the Redis server at url (redis://[user:password@]host:port/db,
// rediss:// for TLS, or redis-sentinel://… for a primary found through
// Sentinel, see internal/redisurl), checks it with PING and returns a
// store whose keys all start with "<prefix>:". A nil log means
// slog.Default(). Errors name the server's host:port (or the Sentinels
// and the master's name) and never the password.
func Open(ctx context.Context, url, prefix string, log *slog.Logger, opts ...Option) (*Store, error) {
	c, where, err := newClient(url)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis at %s: ping: %w", where, err)
	}
	s := NewFromClient(c, prefix, append([]Option{WithLogger(log)}, opts...)...)
	s.owned = true
	return s, nil
}

// newClient returns a client of url and a description of where it
// connects for messages.
func newClient(raw string) (goredis.UniversalClient, string, error) {
	if redisurl.IsSentinel(raw) {
		s, err := redisurl.ParseSentinel(raw)
		if err != nil {
			return nil, "", err
		}
		// On a failover the client asks the Sentinels for the new primary
		// and reconnects; commands in flight fail and are retried by the
		// callers (steps, locks) like any dropped connection.
		return goredis.NewFailoverClient(&goredis.FailoverOptions{
			MasterName: s.Master, SentinelAddrs: s.Addrs, SentinelPassword: s.Password,
			Username: s.Username, Password: s.Password, DB: s.DB,
		}), s.String(), nil
	}
	o, err := parseURL(raw)
	if err != nil {
		return nil, "", err
	}
	return goredis.NewClient(o), fmt.Sprintf("%s (db %d)", o.Addr, o.DB), nil
}

// parseURL parses a redis:// or rediss:// URL. Its errors show the URL
// with the password masked.
func parseURL(raw string) (*goredis.Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only
		// the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid Redis URL %s: %w", redact.URL(raw), err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("invalid Redis URL %s: scheme must be redis:// or rediss://", u.Redacted())
	}
	o, err := goredis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid Redis URL %s: %w", u.Redacted(), err)
	}
	return o, nil
}

// NewFromClient returns a store on an existing client, with its keys under
// "<prefix>:" (DefaultPrefix if empty). Close does not close c.
func NewFromClient(c goredis.UniversalClient, prefix string, opts ...Option) *Store {
	prefix = strings.TrimSuffix(prefix, ":")
	if prefix == "" {
		prefix = DefaultPrefix
	}
	s := &Store{c: c, prefix: prefix, lease: DefaultLease, log: slog.Default(), locks: map[*Lock]struct{}{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Client returns the store's Redis client.
func (s *Store) Client() goredis.UniversalClient { return s.c }

// Prefix returns the key prefix, without the trailing colon.
func (s *Store) Prefix() string { return s.prefix }

// Jobs returns the job records on the store's client and prefix.
func (s *Store) Jobs(opts ...JobsOption) *Jobs { return NewJobs(s.c, s.prefix, opts...) }

func (s *Store) wmKey(dataset string) string { return s.prefix + ":wm:" + dataset }
func (s *Store) lockKey(name string) string  { return s.prefix + ":lock:" + name }

// Get implements state.Store.
func (s *Store) Get(ctx context.Context, dataset string) (*state.Watermark, error) {
	data, err := s.c.Get(ctx, s.wmKey(dataset)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read watermark of %s from redis: %w", dataset, err)
	}
	w := new(state.Watermark)
	if err := json.Unmarshal(data, w); err != nil {
		return nil, fmt.Errorf("watermark of %s in redis key %s is corrupt (countysync reset %s replaces it): %w",
			dataset, s.wmKey(dataset), dataset, err)
	}
	return w, nil
}

// setScript stores ARGV[2] in KEYS[1] if the job_id of the watermark there
// is ARGV[1] ("" for no watermark). It returns {1} on success, {0, job}
// with the current job otherwise.
var setScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local job = ''
if cur then
  local ok, doc = pcall(cjson.decode, cur)
  if not ok or type(doc) ~= 'table' then
    return redis.error_reply('corrupt watermark in ' .. KEYS[1])
  end
  if type(doc['job_id']) == 'string' then job = doc['job_id'] end
end
if job ~= ARGV[1] then return {0, job} end
redis.call('SET', KEYS[1], ARGV[2])
return {1}
`)

// Set implements state.Store: a compare-and-set on the previous job id,
// done atomically by a Lua script.
func (s *Store) Set(ctx context.Context, dataset, prevJob string, w *state.Watermark) error {
	if w == nil {
		return fmt.Errorf("set watermark of %s: nil watermark", dataset)
	}
	data, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("set watermark of %s: %w", dataset, err)
	}
	res, err := setScript.Run(ctx, s.c, []string{s.wmKey(dataset)}, prevJob, data).Slice()
	if err != nil {
		return fmt.Errorf("set watermark of %s in redis: %w", dataset, err)
	}
	if ok, _ := res[0].(int64); ok == 1 {
		return nil
	}
	cur := ""
	if len(res) > 1 {
		cur, _ = res[1].(string)
	}
	return fmt.Errorf("dataset %s: expected watermark of job %q, found %q: %w", dataset, prevJob, cur, state.ErrConflict)
}

// Reset implements state.Store. It stores state.ResetWatermark, never
// deletes the key: a missing watermark is restored from the manifests, a
// reset one is not.
func (s *Store) Reset(ctx context.Context, dataset string) error {
	data, err := json.Marshal(state.ResetWatermark(time.Now()))
	if err != nil {
		return fmt.Errorf("reset watermark of %s: %w", dataset, err)
	}
	if err := s.c.Set(ctx, s.wmKey(dataset), data, 0).Err(); err != nil {
		return fmt.Errorf("reset watermark of %s in redis: %w", dataset, err)
	}
	return nil
}

// List implements state.Store by scanning "<prefix>:wm:*" (on every master
// of a cluster).
func (s *Store) List(ctx context.Context) ([]string, error) {
	base := s.prefix + ":wm:"
	pattern := globEscape(base) + "*"
	var mu sync.Mutex
	seen := map[string]bool{}
	scan := func(ctx context.Context, c goredis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			seen[strings.TrimPrefix(iter.Val(), base)] = true
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	if cc, ok := s.c.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, s.c)
	}
	if err != nil {
		return nil, fmt.Errorf("list watermarks in redis: %w", err)
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// globEscape escapes the characters SCAN MATCH treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Close implements state.Store. It stops renewing the locks still held
// (they expire after their lease) and closes the client if Open made it.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	locks := make([]*Lock, 0, len(s.locks))
	for l := range s.locks {
		locks = append(locks, l)
	}
	s.mu.Unlock()
	for _, l := range locks {
		l.Keep()
	}
	if s.owned {
		if err := s.c.Close(); err != nil {
			return fmt.Errorf("close redis client: %w", err)
		}
	}
	return nil
}
