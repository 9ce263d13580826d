package testsvc

import (
	"net"
	"net/url"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
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
