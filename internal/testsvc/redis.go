package testsvc

import (
	"context"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// redisDB cycles through DB numbers 1–15 (0 is left to people); it starts
// at a per-process offset so test binaries running side by side tend to
// use different DBs.
var redisDB atomic.Uint32

func init() { redisDB.Store(uint32(os.Getpid())) }

// Redis returns the URL of the Redis server named by COUNTYSYNC_TEST_REDIS
// (e.g. redis://127.0.0.1:6379/0) with a DB number from 1 to 15 chosen per
// test, or skips the test (fails it under CI=true) when the variable is
// unset. It fails the test if the server does not accept connections.
//
// Several tests (and packages, run in parallel) can get the same DB, so a
// test must also use its own key prefix (RandomName) and delete only its
// own keys, never FLUSHDB.
func Redis(t testing.TB) string {
	t.Helper()
	raw := Need(t, "COUNTYSYNC_TEST_REDIS")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		t.Fatalf("COUNTYSYNC_TEST_REDIS is not a redis:// URL")
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "6379")
	}
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatalf("Redis at %s (COUNTYSYNC_TEST_REDIS) is not reachable: %v (start it with scripts/services.sh)", host, err)
	}
	c.Close()
	u.Path = "/" + strconv.Itoa(int(redisDB.Add(1)%15)+1)
	return u.String()
}

// RedisPrefix returns a fresh key prefix (state.prefix) for a test on the
// Redis at url, and deletes when the test ends every key under it and
// every asynq queue named after it ("<prefix>:<type>"), so that a test
// leaves nothing behind. A run killed before its cleanups leaves keys
// under prefixes no later run uses (they are random): it cannot disturb
// the next run.
func RedisPrefix(t testing.TB, url, name string) string {
	t.Helper()
	prefix := RandomName(name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := DeleteRedisPrefix(ctx, url, prefix); err != nil {
			t.Logf("clean Redis prefix %s: %v", prefix, err)
		}
	})
	return prefix
}

// DeleteRedisPrefix deletes every key under "<prefix>:", the keys of the
// asynq queues "<prefix>:*" and their entries in asynq's queue set.
func DeleteRedisPrefix(ctx context.Context, url, prefix string) error {
	o, err := goredis.ParseURL(url)
	if err != nil {
		return err
	}
	c := goredis.NewClient(o)
	defer c.Close()
	var keys []string
	for _, pattern := range []string{globEscape(prefix+":") + "*", globEscape("asynq:{"+prefix+":") + "*"} {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return err
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := c.Del(ctx, keys[:n]...).Err(); err != nil {
			return err
		}
		keys = keys[n:]
	}
	queues, err := c.SMembers(ctx, "asynq:queues").Result()
	if err != nil {
		return err
	}
	for _, q := range queues {
		if strings.HasPrefix(q, prefix+":") {
			if err := c.SRem(ctx, "asynq:queues", q).Err(); err != nil {
				return err
			}
		}
	}
	return nil
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
