package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/countydatasync/countysync/internal/config"
	"github.com/countydatasync/countysync/internal/redact"
	"github.com/countydatasync/countysync/internal/source"
	"github.com/countydatasync/countysync/internal/source/postgres"
	"github.com/countydatasync/countysync/internal/source/sqlite"
	"github.com/countydatasync/countysync/internal/state"
	statefile "github.com/countydatasync/countysync/internal/state/file"
	redisstate "github.com/countydatasync/countysync/internal/state/redis"
	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/storage/local"
	"github.com/countydatasync/countysync/internal/storage/s3"
)

// OpenSource connects to the source database named by url.
func OpenSource(ctx context.Context, url string, log *slog.Logger) (source.Source, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url, log)
	case strings.HasPrefix(url, "sqlite://"):
		return sqlite.Open(ctx, strings.TrimPrefix(url, "sqlite://"), log)
	}
	return nil, fmt.Errorf("unsupported source URL %s", redact.URL(url))
}

// OpenStore opens the storage named by url.
func OpenStore(ctx context.Context, url string, log *slog.Logger) (storage.Store, error) {
	switch {
	case strings.HasPrefix(url, "file://"):
		return local.Open(strings.TrimPrefix(url, "file://"))
	case strings.HasPrefix(url, "s3://"):
		st, err := s3.Open(ctx, url, log)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return st, nil
	}
	return nil, fmt.Errorf("unsupported storage URL %s", redact.URL(url))
}

// OpenState opens the state store of cfg: the state URL if set, otherwise a
// state file under the root of local storage.
func OpenState(ctx context.Context, cfg *config.Config, store storage.Store, log *slog.Logger) (state.Store, error) {
	url := cfg.State.URL
	switch {
	case url == "":
		ls, ok := store.(*local.Store)
		if !ok {
			return nil, fmt.Errorf("state.url is required when storage is not a local directory (use redis://… or file://PATH)")
		}
		return statefile.Open(filepath.Join(ls.Root(), ".countysync", "state.json"))
	case strings.HasPrefix(url, "file://"):
		return statefile.Open(strings.TrimPrefix(url, "file://"))
	case strings.HasPrefix(url, "redis://"), strings.HasPrefix(url, "rediss://"):
		return redisstate.Open(ctx, url, cfg.State.Prefix, log, redisstate.WithLease(cfg.State.LockLease.D()))
	}
	return nil, fmt.Errorf("unsupported state URL %s", redact.URL(url))
}
