package dashboard

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynqmon"

	"github.com/countydatasync/countysync/internal/queue"
	"github.com/countydatasync/countysync/internal/state"
)

// Options configure the dashboard.
type Options struct {
	// RedisURL is the asynq Redis.
	RedisURL string
	// Jobs holds the job records.
	Jobs state.Jobs
	// ReadOnly refuses every request that could change the queues.
	ReadOnly bool
	// User and Password enable basic auth when both are set.
	User, Password string
	// Log receives request errors.
	Log *slog.Logger
}

// ErrNeedsAuth is returned by Listen for a non-loopback address without
// basic auth.
var ErrNeedsAuth = errors.New("the dashboard listens beyond loopback only with basic auth: set COUNTYSYNC_DASHBOARD_USER and COUNTYSYNC_DASHBOARD_PASSWORD")

// MinPasswordLength is the shortest dashboard password accepted on an
// address beyond loopback.
const MinPasswordLength = 12

// ErrWeakPassword is returned by CheckAuth for a password shorter than
// MinPasswordLength on an address beyond loopback.
var ErrWeakPassword = fmt.Errorf("the dashboard listens beyond loopback only with a COUNTYSYNC_DASHBOARD_PASSWORD of at least %d characters", MinPasswordLength)

// CheckAuth refuses to serve addr with the given basic-auth credentials
// when addr is beyond loopback and they are missing (ErrNeedsAuth) or the
// password is short (ErrWeakPassword).
func CheckAuth(addr, user, password string) error {
	if IsLoopback(addr) {
		return nil
	}
	if user == "" || password == "" {
		return fmt.Errorf("dashboard on %s: %w", addr, ErrNeedsAuth)
	}
	if len([]rune(password)) < MinPasswordLength {
		return fmt.Errorf("dashboard on %s: %w (it has %d)", addr, ErrWeakPassword, len([]rune(password)))
	}
	return nil
}

// New returns the dashboard's handler and a function that releases its
// connections.
func New(o Options) (http.Handler, func(), error) {
	redisOpt, err := queue.RedisConnOpt(o.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("dashboard: redis URL: %w", err)
	}
	mon := asynqmon.New(asynqmon.Options{RootPath: "/monitoring", RedisConnOpt: redisOpt, ReadOnly: o.ReadOnly})
	mux := http.NewServeMux()
	mux.Handle("/monitoring/", mon)
	mux.HandleFunc("/monitoring", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/monitoring/", http.StatusMovedPermanently)
	})
	h := &history{jobs: o.Jobs, log: o.Log}
	mux.HandleFunc("GET /{$}", h.index)
	mux.HandleFunc("GET /jobs/{id}", h.job)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := o.Jobs.ListJobs(ctx, 1); err != nil {
			o.Log.Warn("not ready", "error", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	var handler http.Handler = mux
	if o.ReadOnly {
		handler = readOnly(handler)
	}
	if o.User != "" && o.Password != "" {
		handler = basicAuth(handler, o.User, o.Password)
	}
	return securityHeaders(handler), func() { mon.Close() }, nil
}

// readOnly refuses every method but GET and HEAD.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "read-only dashboard", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// basicAuth checks credentials in constant time (hashing both sides first
// so their lengths do not leak either).
func basicAuth(next http.Handler, user, password string) http.Handler {
	wantU, wantP := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" { // probes carry no credentials and learn nothing
			next.ServeHTTP(w, r)
			return
		}
		u, p, ok := r.BasicAuth()
		gotU, gotP := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		okU := subtle.ConstantTimeCompare(gotU[:], wantU[:])
		okP := subtle.ConstantTimeCompare(gotP[:], wantP[:])
		if !ok || okU&okP != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="countysync", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// IsLoopback reports whether addr (host:port) binds only loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Serve listens on addr and serves h until ctx ends. It refuses what
// CheckAuth refuses: a non-loopback address without basic auth (user and
// password, as h was built with) or with a short password.
func Serve(ctx context.Context, addr string, h http.Handler, user, password string, log *slog.Logger) error {
	if err := CheckAuth(addr, user, password); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Info("dashboard listening", "url", "http://"+ln.Addr().String()+"/", "monitoring", "/monitoring/")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// trimLocation shortens a long artifact location for display.
func trimLocation(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 && len(s) > 60 {
		return "…" + s[i:]
	}
	return s
}
