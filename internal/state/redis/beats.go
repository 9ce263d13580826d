package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/countydatasync/countysync/internal/state"
)

var _ state.Beats = (*Store)(nil)

// Values of a heartbeat key "<prefix>:hb:<name>".
const (
	beatAlive     = "alive"
	beatTakenOver = "taken-over"
)

func (s *Store) beatKey(name string) string { return s.prefix + ":hb:" + name }

// beatScript sets KEYS[1] to "alive" for ARGV[1] ms unless it is taken
// over. It returns 1, or 0 if taken over.
var beatScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == '` + beatTakenOver + `' then return 0 end
redis.call('SET', KEYS[1], '` + beatAlive + `', 'PX', ARGV[1])
return 1
`)

// takeOverScript sets KEYS[1] to "taken-over" for ARGV[1] ms if it does
// not exist. It returns 1 if it did.
var takeOverScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], '` + beatTakenOver + `', 'PX', ARGV[1])
return 1
`)

// endBeatScript deletes KEYS[1] if it is alive.
var endBeatScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == '` + beatAlive + `' then redis.call('DEL', KEYS[1]) end
return 1
`)

// Beat implements state.Beats.
func (s *Store) Beat(ctx context.Context, name string, ttl time.Duration) error {
	n, err := beatScript.Run(ctx, s.c, []string{s.beatKey(name)}, ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("heartbeat %s in redis: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("heartbeat %s: %w", name, state.ErrTakenOver)
	}
	return nil
}

// BeatStatus implements state.Beats.
func (s *Store) BeatStatus(ctx context.Context, names []string) ([]state.BeatStatus, error) {
	out := make([]state.BeatStatus, len(names))
	if len(names) == 0 {
		return out, nil
	}
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = s.beatKey(n)
	}
	// One GET per key in a pipeline: the keys may live on different
	// cluster slots, where MGET would fail.
	cmds, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, k := range keys {
			p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && err != goredis.Nil {
		return nil, fmt.Errorf("read heartbeats in redis: %w", err)
	}
	for i, c := range cmds {
		switch v, _ := c.(*goredis.StringCmd).Result(); v {
		case beatAlive:
			out[i] = state.BeatAlive
		case beatTakenOver:
			out[i] = state.BeatTakenOver
		}
	}
	return out, nil
}

// TakeOver implements state.Beats.
func (s *Store) TakeOver(ctx context.Context, name string, keep time.Duration) (bool, error) {
	n, err := takeOverScript.Run(ctx, s.c, []string{s.beatKey(name)}, keep.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("take over %s in redis: %w", name, err)
	}
	return n == 1, nil
}

// EndBeat implements state.Beats.
func (s *Store) EndBeat(ctx context.Context, name string) error {
	if err := endBeatScript.Run(ctx, s.c, []string{s.beatKey(name)}).Err(); err != nil {
		return fmt.Errorf("end heartbeat %s in redis: %w", name, err)
	}
	return nil
}
