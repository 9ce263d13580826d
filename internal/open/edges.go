package open

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/countydatasync/countysync/internal/config"
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

type (
	sourceOpener func(ctx context.Context, url, rest string, log *slog.Logger) (source.Source, error)
	storeOpener  func(ctx context.Context, url, rest string, log *slog.Logger) (storage.Store, error)
	stateOpener  func(ctx context.Context, cfg *config.Config, rest string, log *slog.Logger) (state.Store, error)
)

func openPostgres(ctx context.Context, url, _ string, log *slog.Logger) (source.Source, error) {
	s, err := postgres.Open(ctx, url, log)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return s, nil
}

func openRedisState(ctx context.Context, cfg *config.Config, _ string, log *slog.Logger) (state.Store, error) {
	s, err := redisstate.Open(ctx, cfg.State.URL, cfg.State.Prefix, log, redisstate.WithLease(cfg.State.LockLease.D()))
	if err != nil {
		return nil, err
	}
	return s, nil
}

var (
	sources = registry[sourceOpener]{kind: "source", openers: map[string]sourceOpener{
		"postgres":   openPostgres,
		"postgresql": openPostgres,
		"sqlite": func(ctx context.Context, _, path string, log *slog.Logger) (source.Source, error) {
			s, err := sqlite.Open(ctx, path, log)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}}
	stores = registry[storeOpener]{kind: "storage", openers: map[string]storeOpener{
		"file": func(_ context.Context, _, dir string, log *slog.Logger) (storage.Store, error) {
			s, err := local.Open(dir)
			if err != nil {
				return nil, err
			}
			for _, p := range s.Swept() {
				log.Info("removed the temporary files of a process that stopped", "path", p)
			}
			return s, nil
		},
		"s3": func(ctx context.Context, url, _ string, log *slog.Logger) (storage.Store, error) {
			s, err := s3.Open(ctx, url, log)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}}
	states = registry[stateOpener]{kind: "state", openers: map[string]stateOpener{
		"file": func(_ context.Context, _ *config.Config, path string, _ *slog.Logger) (state.Store, error) {
			s, err := statefile.Open(path)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		"redis":          openRedisState,
		"rediss":         openRedisState,
		"redis-sentinel": openRedisState,
	}}
)

// Source connects to the source database named by url.
func Source(ctx context.Context, url string, log *slog.Logger) (source.Source, error) {
	o, rest, err := sources.lookup(url)
	if err != nil {
		return nil, err
	}
	return o(ctx, url, rest, log)
}

// Store opens the storage named by url.
func Store(ctx context.Context, url string, log *slog.Logger) (storage.Store, error) {
	o, rest, err := stores.lookup(url)
	if err != nil {
		return nil, err
	}
	return o(ctx, url, rest, log)
}

// State opens the state store of cfg: state.url if set, otherwise a state
// file under the root of local storage.
func State(ctx context.Context, cfg *config.Config, store storage.Store, log *slog.Logger) (state.Store, error) {
	if cfg.State.URL == "" {
		ls, ok := store.(*local.Store)
		if !ok {
			return nil, fmt.Errorf("state.url is required when storage is not a local directory (use redis://… or file://PATH)")
		}
		return statefile.Open(filepath.Join(ls.Root(), ".countysync", "state.json"))
	}
	o, rest, err := states.lookup(cfg.State.URL)
	if err != nil {
		return nil, err
	}
	return o(ctx, cfg, rest, log)
}
