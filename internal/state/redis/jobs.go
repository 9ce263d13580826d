package redis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/countydatasync/countysync/internal/state"
)

var _ state.Jobs = (*Jobs)(nil)

// DefaultJobTTL is how long job records live unless WithJobTTL says
// otherwise.
const DefaultJobTTL = 30 * 24 * time.Hour

// Jobs is the state.Jobs of the distributed mode: the job document, each
// dataset's result, and each dataset's fan-in (the records its tasks
// produced). It stores bytes; the pipeline owns their shapes. Every key
// expires after the TTL (WithJobTTL) so Redis memory stays bounded. It is
// safe for concurrent use.
//
// Keys, under "<prefix>:":
//
//	job:<id>                     string: the job document
//	jobs                         sorted set: job ids scored by creation (Unix ms)
//	job:<id>:datasets            hash: dataset -> result document
//	job:<id>:artifacts:<dataset> hash: member -> record (the fan-in)
type Jobs struct {
	c      goredis.UniversalClient
	prefix string
	ttl    time.Duration
}

// JobsOption configures Jobs.
type JobsOption func(*Jobs)

// WithJobTTL sets how long job records live (default DefaultJobTTL).
func WithJobTTL(d time.Duration) JobsOption {
	return func(j *Jobs) {
		if d > 0 {
			j.ttl = d
		}
	}
}

// NewJobs returns the job records on client c with keys under "<prefix>:"
// (DefaultPrefix if empty).
func NewJobs(c goredis.UniversalClient, prefix string, opts ...JobsOption) *Jobs {
	prefix = strings.TrimSuffix(prefix, ":")
	if prefix == "" {
		prefix = DefaultPrefix
	}
	j := &Jobs{c: c, prefix: prefix, ttl: DefaultJobTTL}
	for _, o := range opts {
		o(j)
	}
	return j
}

func (j *Jobs) jobKey(id string) string     { return j.prefix + ":job:" + id }
func (j *Jobs) indexKey() string            { return j.prefix + ":jobs" }
func (j *Jobs) resultsKey(id string) string { return j.prefix + ":job:" + id + ":datasets" }
func (j *Jobs) artifactsKey(id, dataset string) string {
	return j.prefix + ":job:" + id + ":artifacts:" + dataset
}

// checkID rejects ids that would make one job's keys collide with
// another's.
func checkID(id string) error {
	if id == "" || strings.ContainsAny(id, ": \t\r\n") {
		return fmt.Errorf("invalid job id %q", id)
	}
	return nil
}

// createScript: SET KEYS[1] ARGV[1] NX PX ARGV[2]; if it was set, index the
// job (ZADD KEYS[2] ARGV[3] ARGV[4]) and drop index entries scored before
// ARGV[5]. Returns 1 if created.
var createScript = goredis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[5])
return 1
`)

// CreateJob implements state.Jobs: it stores doc as job id's record if
// there is none (SET NX), so that exactly one caller claims the id, and
// reports whether this call created it. The record expires after the Jobs
// TTL, and the job enters the ListJobs index, which keeps jobs for as
// long.
func (j *Jobs) CreateJob(ctx context.Context, id string, doc []byte) (bool, error) {
	if err := checkID(id); err != nil {
		return false, err
	}
	now := time.Now()
	n, err := createScript.Run(ctx, j.c, []string{j.jobKey(id), j.indexKey()},
		doc, j.ttl.Milliseconds(), now.UnixMilli(), id, now.Add(-j.ttl).UnixMilli()).Int64()
	if err != nil {
		return false, fmt.Errorf("create job %s in redis: %w", id, err)
	}
	return n == 1, nil
}

// PutJob implements state.Jobs: it replaces job id's record with doc,
// keeping its TTL (SET XX KEEPTTL). It fails with an error wrapping
// state.ErrJobNotFound if the record does not exist (or has expired).
func (j *Jobs) PutJob(ctx context.Context, id string, doc []byte) error {
	if err := checkID(id); err != nil {
		return err
	}
	err := j.c.SetArgs(ctx, j.jobKey(id), doc, goredis.SetArgs{Mode: "XX", KeepTTL: true}).Err()
	if errors.Is(err, goredis.Nil) {
		return fmt.Errorf("store job %s: %w", id, state.ErrJobNotFound)
	}
	if err != nil {
		return fmt.Errorf("store job %s in redis: %w", id, err)
	}
	return nil
}

// GetJob implements state.Jobs: it returns job id's record, or an error
// wrapping state.ErrJobNotFound.
func (j *Jobs) GetJob(ctx context.Context, id string) ([]byte, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	doc, err := j.c.Get(ctx, j.jobKey(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("job %s: %w", id, state.ErrJobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read job %s from redis: %w", id, err)
	}
	return doc, nil
}

// ListJobs implements state.Jobs: it returns up to limit job ids (all if
// limit <= 0), newest first, leaving out jobs whose record has expired
// (and dropping them from the index). Jobs created in the same millisecond
// come in reverse order of their ids.
func (j *Jobs) ListJobs(ctx context.Context, limit int) ([]string, error) {
	batch := int64(100)
	if limit > 0 && int64(limit) < batch {
		batch = int64(limit)
	}
	var ids, gone []string
	seen := map[string]bool{} // a job created meanwhile shifts the pages
	for start := int64(0); limit <= 0 || len(ids) < limit; start += batch {
		page, err := j.c.ZRevRange(ctx, j.indexKey(), start, start+batch-1).Result()
		if err != nil {
			return nil, fmt.Errorf("list jobs in redis: %w", err)
		}
		if len(page) == 0 {
			break
		}
		pipe := j.c.Pipeline()
		exists := make([]*goredis.IntCmd, len(page))
		for i, id := range page {
			exists[i] = pipe.Exists(ctx, j.jobKey(id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("list jobs in redis: %w", err)
		}
		for i, id := range page {
			switch {
			case seen[id]:
			case exists[i].Val() == 0:
				gone = append(gone, id)
			case limit <= 0 || len(ids) < limit:
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if int64(len(page)) < batch {
			break
		}
	}
	if len(gone) > 0 {
		members := make([]any, len(gone))
		for i, id := range gone {
			members[i] = id
		}
		// Best effort: a failure only leaves entries ListJobs skips again.
		_ = j.c.ZRem(ctx, j.indexKey(), members...).Err()
	}
	return ids, nil
}

// PutDatasetResult implements state.Jobs.
func (j *Jobs) PutDatasetResult(ctx context.Context, jobID, dataset string, doc []byte) error {
	if err := checkID(jobID); err != nil {
		return err
	}
	key := j.resultsKey(jobID)
	_, err := j.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, key, dataset, doc)
		p.PExpire(ctx, key, j.ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store result of %s in job %s in redis: %w", dataset, jobID, err)
	}
	return nil
}

// DatasetResults implements state.Jobs: it returns the result documents
// of job jobID by dataset (empty if there are none).
func (j *Jobs) DatasetResults(ctx context.Context, jobID string) (map[string][]byte, error) {
	if err := checkID(jobID); err != nil {
		return nil, err
	}
	m, err := hashBytes(ctx, j.c, j.resultsKey(jobID))
	if err != nil {
		return nil, fmt.Errorf("read results of job %s from redis: %w", jobID, err)
	}
	return m, nil
}

// PutArtifacts implements state.Jobs: it stores the records docs in the
// dataset's fan-in hash and returns every record the hash holds
// afterwards, in one MULTI (HSET, PEXPIRE, HGETALL). A task that produced
// several records thus stores all of them or none, and of concurrent
// tasks exactly one sees the hash complete first; storing a member again
// replaces its record, so a redelivered task sees the complete hash again:
// whatever completion triggers must be idempotent (a deterministic task
// id). It fails if docs is empty.
func (j *Jobs) PutArtifacts(ctx context.Context, jobID, dataset string, docs map[string][]byte) (map[string][]byte, error) {
	if err := checkID(jobID); err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("store artifacts of %s in job %s: none given", dataset, jobID)
	}
	key := j.artifactsKey(jobID, dataset)
	values := make([]any, 0, 2*len(docs))
	for member, doc := range docs {
		values = append(values, member, doc)
	}
	var all *goredis.MapStringStringCmd
	_, err := j.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, key, values...)
		p.PExpire(ctx, key, j.ttl)
		all = p.HGetAll(ctx, key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store artifacts %v of %s in job %s in redis: %w", slices.Sorted(maps.Keys(docs)), dataset, jobID, err)
	}
	return toBytes(all.Val()), nil
}

// Artifacts implements state.Jobs: it returns the records of dataset in
// job jobID by member name (empty if there are none).
func (j *Jobs) Artifacts(ctx context.Context, jobID, dataset string) (map[string][]byte, error) {
	if err := checkID(jobID); err != nil {
		return nil, err
	}
	m, err := hashBytes(ctx, j.c, j.artifactsKey(jobID, dataset))
	if err != nil {
		return nil, fmt.Errorf("read artifacts of %s in job %s from redis: %w", dataset, jobID, err)
	}
	return m, nil
}

func hashBytes(ctx context.Context, c goredis.UniversalClient, key string) (map[string][]byte, error) {
	h, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	return toBytes(h), nil
}

func toBytes(h map[string]string) map[string][]byte {
	m := make(map[string][]byte, len(h))
	for k, v := range h {
		m[k] = []byte(v)
	}
	return m
}
