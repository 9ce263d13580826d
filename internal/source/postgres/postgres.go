package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/countydatasync/countysync/internal/redact"
	"github.com/countydatasync/countysync/internal/source"
)

// Source is an open PostgreSQL database. It keeps a few idle connections
// and is safe for concurrent use: each Query takes a connection of its own
// for as long as its Rows are open.
type Source struct {
	cfg     *pgx.ConnConfig
	log     *slog.Logger
	secrets []string // passwords to mask in messages (redact.Text)
	display string   // user@host:port/db, no password

	mu     sync.Mutex
	idle   []*pgx.Conn
	closed bool

	types typeCache
}

var _ source.Source = (*Source)(nil)

// maxIdle is the number of idle connections kept for later queries.
const maxIdle = 4

// defaultConnectTimeout applies when the URL has no connect_timeout.
const defaultConnectTimeout = 30 * time.Second

// Open parses url (a postgres:// URL or a key=value DSN, as pgx accepts),
// connects once to check that the database is reachable and looks up the
// PostGIS geometry and geography type OIDs. Connection failures wrap
// source.ErrUnreachable; a URL that does not parse is a plain error. A nil
// log discards log output.
func Open(ctx context.Context, url string, log *slog.Logger) (*Source, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	secrets := redact.Passwords(url)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres source: invalid connection URL %s: %s",
			redactURL(url, secrets), redact.Text(err.Error(), secrets...))
	}
	if cfg.Password != "" {
		secrets = append(secrets, cfg.Password)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "countysync"
	}
	s := &Source{
		cfg:     cfg,
		log:     log,
		secrets: secrets,
		display: fmt.Sprintf("postgres://%s@%s/%s", cfg.User, hostPort(cfg.Host, cfg.Port), cfg.Database),
	}
	s.types.init()
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.types.loadPostGIS(ctx, conn); err != nil {
		_ = conn.Close(context.Background())
		return nil, s.classify(ctx, "look up PostGIS types", err, nil)
	}
	s.release(conn)
	log.Debug("postgres source connected", "server", s.display, "postgis", s.types.hasPostGIS())
	return s, nil
}

// String describes the source without its password.
func (s *Source) String() string { return s.display }

// Close closes the idle connections. Connections of Rows still open are
// closed when those Rows end.
func (s *Source) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.closed = true
	s.mu.Unlock()
	for _, c := range idle {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.Close(ctx)
		cancel()
	}
	return nil
}

// connect dials a new connection.
func (s *Source) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("postgres source: connect to %s: %w", s.display, ctx.Err())
		}
		return nil, fmt.Errorf("postgres source: connect to %s: %w: %s", s.display, source.ErrUnreachable, s.redact(err.Error()))
	}
	return conn, nil
}

// acquire returns an idle connection (pooled=true) or a new one.
func (s *Source) acquire(ctx context.Context) (conn *pgx.Conn, pooled bool, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, errors.New("postgres source: source is closed")
	}
	if n := len(s.idle); n > 0 {
		conn = s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return conn, true, nil
	}
	s.mu.Unlock()
	conn, err = s.connect(ctx)
	return conn, false, err
}

// release returns a healthy idle connection to the pool, or closes it.
func (s *Source) release(conn *pgx.Conn) {
	if conn.IsClosed() {
		return
	}
	if conn.PgConn().TxStatus() == 'I' {
		s.mu.Lock()
		if !s.closed && len(s.idle) < maxIdle {
			s.idle = append(s.idle, conn)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// begin acquires a connection and starts the read-only REPEATABLE READ
// transaction of one query; with horizon it first lists the transactions
// open in the database (readHorizon), before the snapshot is taken. A
// pooled connection that turns out to be dead is replaced by a new one
// once.
func (s *Source) begin(ctx context.Context, horizon bool) (*pgx.Conn, pgx.Tx, *source.Horizon, error) {
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	var h *source.Horizon
	start := func(conn *pgx.Conn) (pgx.Tx, error) {
		if horizon {
			var err error
			if h, err = readHorizon(ctx, conn); err != nil {
				return nil, err
			}
		}
		return conn.BeginTx(ctx, opts)
	}
	conn, pooled, err := s.acquire(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	tx, err := start(conn)
	if err != nil && pooled && ctx.Err() == nil {
		s.log.Debug("postgres source: idle connection failed, reconnecting", "error", s.redact(err.Error()))
		_ = conn.Close(context.Background())
		if conn, err = s.connect(ctx); err != nil {
			return nil, nil, nil, err
		}
		tx, err = start(conn)
	}
	if err != nil {
		_ = conn.Close(context.Background())
		return nil, nil, nil, s.classify(ctx, "begin transaction", err, nil)
	}
	return conn, tx, h, nil
}

// sqlInfo locates the user's query inside the statement sent, to turn an
// error position into a line and column of the user's query.
type sqlInfo struct {
	sent   string // statement sent to the server
	user   string // the user's query (trimmed)
	offset int    // characters of sent before user
}

// classify turns an error from pgx into the error the caller sees:
// ErrQuery for errors PostgreSQL raised about the statement,
// ErrUnreachable for connection failures, the context's error if ctx is
// done. The password is redacted from all text.
func (s *Source) classify(ctx context.Context, what string, err error, q *sqlInfo) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && !isConnectionError(pgErr.Code) {
		return &pgErrorWrapper{
			msg: "postgres source: " + source.ErrQuery.Error() + ": " + s.redact(describePgError(pgErr, q)),
			pg:  pgErr,
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("postgres source: %s: %w", what, ctx.Err())
	}
	return fmt.Errorf("postgres source: %s on %s: %w: %s", what, s.display, source.ErrUnreachable, s.redact(err.Error()))
}

// pgErrorWrapper keeps a *pgconn.PgError reachable with errors.As while
// the text comes from classify (redacted, with position).
type pgErrorWrapper struct {
	msg string
	pg  *pgconn.PgError
}

func (e *pgErrorWrapper) Error() string   { return e.msg }
func (e *pgErrorWrapper) Unwrap() []error { return []error{source.ErrQuery, e.pg} }

// isConnectionError reports SQLSTATEs that mean the server or connection
// is unavailable rather than that the query is wrong.
func isConnectionError(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"): // connection exception
		return true
	case code == "57P01", code == "57P02", code == "57P03": // shutdown, crash, cannot connect now
		return true
	case code == "53300": // too many connections
		return true
	}
	return false
}

// describePgError renders a PostgreSQL error with its position in the
// user's query, hint and detail.
func describePgError(e *pgconn.PgError, q *sqlInfo) string {
	var b strings.Builder
	b.WriteString(e.Severity)
	b.WriteString(": ")
	b.WriteString(e.Message)
	b.WriteString(" (SQLSTATE ")
	b.WriteString(e.Code)
	b.WriteString(")")
	if e.Position > 0 && q != nil {
		b.WriteString(positionText(int(e.Position), q))
	}
	if e.Detail != "" {
		b.WriteString("; detail: ")
		b.WriteString(e.Detail)
	}
	if e.Hint != "" {
		b.WriteString("; hint: ")
		b.WriteString(e.Hint)
	}
	if e.Where != "" {
		b.WriteString("; where: ")
		b.WriteString(e.Where)
	}
	return b.String()
}

// positionText turns a 1-based character position in the statement sent
// into "at line L, column C of the query near "…"".
func positionText(pos int, q *sqlInfo) string {
	sent := []rune(q.sent)
	if pos < 1 || pos > len(sent)+1 {
		return " at position " + strconv.Itoa(pos)
	}
	userPos := pos - q.offset // 1-based in the user's query
	user := []rune(q.user)
	if userPos < 1 || userPos > len(user)+1 {
		return " in the incremental filter added around the query: " + strconv.Quote(string(sent[q.offset+len(user):]))
	}
	line, col := 1, 1
	for _, r := range user[:userPos-1] {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	end := min(userPos-1+24, len(user))
	near := strings.TrimSpace(strings.SplitN(string(user[userPos-1:end]), "\n", 2)[0])
	return fmt.Sprintf(" at line %d, column %d of the query near %q", line, col, near)
}

func (s *Source) redact(text string) string { return redact.Text(text, s.secrets...) }

// redactURL masks the password of a connection string that may not parse.
func redactURL(s string, secrets []string) string { return redact.Text(redact.URL(s), secrets...) }

func hostPort(host string, port uint16) string {
	if strings.HasPrefix(host, "/") {
		return host
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(int(port))
}
