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
)

// ErrJobNotFound means there is no record of the job (never created, or
// expired after its TTL).
var ErrJobNotFound = errors.New("job not found")

// DefaultJobTTL is how long job records live unless WithJobTTL says
// otherwise.
const DefaultJobTTL = 30 * 24 * time.Hour

// Jobs keeps the records of the distributed mode's jobs: the job document,
// each dataset's result, each artifact, and the fan-in set of the formats
// exported so far. It stores bytes; the pipeline owns their shapes. Every
// key expires after the TTL so Redis memory stays bounded. It is safe for
// concurrent use.
//
// Keys, under "<prefix>:":
//
//	job:<id>                     string: the job document
//	jobs                         sorted set: job ids scored by creation (Unix ms)
//	job:<id>:datasets            hash: dataset -> result document
//	job:<id>:artifacts:<dataset> hash: format -> artifact document
//	job:<id>:done:<dataset>      set: formats exported (the fan-in set)
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

// TTL returns how long job records live.
func (j *Jobs) TTL() time.Duration { return j.ttl }

func (j *Jobs) jobKey(id string) string     { return j.prefix + ":job:" + id }
func (j *Jobs) indexKey() string            { return j.prefix + ":jobs" }
func (j *Jobs) resultsKey(id string) string { return j.prefix + ":job:" + id + ":datasets" }
func (j *Jobs) artifactsKey(id, dataset string) string {
	return j.prefix + ":job:" + id + ":artifacts:" + dataset
}
func (j *Jobs) doneKey(id, dataset string) string {
	return j.prefix + ":job:" + id + ":done:" + dataset
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

// putScript: overwrite KEYS[1] keeping its TTL; if it did not exist, create
// it with a TTL of ARGV[2] ms and index it like createScript (keeping an
// existing index score).
var putScript = goredis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'XX', 'KEEPTTL') then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[5])
return 1
`)

// CreateJob stores doc as job id's record if there is none (SET NX), so
// that exactly one caller claims the id; it reports whether this call
// created it. The record expires after ttl (the Jobs TTL if ttl <= 0). The
// job enters the ListJobs index, which keeps jobs for the Jobs TTL.
func (j *Jobs) CreateJob(ctx context.Context, id string, doc []byte, ttl time.Duration) (bool, error) {
	if err := checkID(id); err != nil {
		return false, err
	}
	if ttl <= 0 {
		ttl = j.ttl
	}
	now := time.Now()
	n, err := createScript.Run(ctx, j.c, []string{j.jobKey(id), j.indexKey()},
		doc, ttl.Milliseconds(), now.UnixMilli(), id, now.Add(-j.ttl).UnixMilli()).Int64()
	if err != nil {
		return false, fmt.Errorf("create job %s in redis: %w", id, err)
	}
	return n == 1, nil
}

// PutJob replaces job id's record with doc, keeping its TTL; a record that
// does not exist (or has expired) is created with the Jobs TTL.
func (j *Jobs) PutJob(ctx context.Context, id string, doc []byte) error {
	if err := checkID(id); err != nil {
		return err
	}
	now := time.Now()
	err := putScript.Run(ctx, j.c, []string{j.jobKey(id), j.indexKey()},
		doc, j.ttl.Milliseconds(), now.UnixMilli(), id, now.Add(-j.ttl).UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("store job %s in redis: %w", id, err)
	}
	return nil
}

// GetJob returns job id's record, or an error wrapping ErrJobNotFound.
func (j *Jobs) GetJob(ctx context.Context, id string) ([]byte, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	doc, err := j.c.Get(ctx, j.jobKey(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("job %s: %w", id, ErrJobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read job %s from redis: %w", id, err)
	}
	return doc, nil
}

// ListJobs returns up to limit job ids (all if limit <= 0), newest first,
// leaving out jobs whose record has expired (and dropping them from the
// index).
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

// PutDatasetResult stores the result document of dataset in job jobID,
// replacing an earlier one.
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

// DatasetResults returns the result documents of job jobID by dataset
// (empty if there are none).
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

// PutArtifact stores the artifact document of dataset in format for job
// jobID and adds format to the dataset's fan-in set, atomically (MULTI),
// returning how many formats the set holds afterwards. The export that
// brings it to the number of formats configured is the last one and
// enqueues the publish task. Storing the same format again replaces its
// document without counting it twice, so a redelivered last export sees
// the full count again: whatever it triggers must be idempotent (a
// deterministic task id).
func (j *Jobs) PutArtifact(ctx context.Context, jobID, dataset, format string, doc []byte) (int64, error) {
	return j.PutArtifacts(ctx, jobID, dataset, map[string][]byte{format: doc})
}

// PutArtifacts is PutArtifact for several formats at once, in one MULTI:
// a task that rendered several formats records all of them or none, so a
// crash between two records cannot leave a format that nobody will render.
func (j *Jobs) PutArtifacts(ctx context.Context, jobID, dataset string, docs map[string][]byte) (int64, error) {
	if err := checkID(jobID); err != nil {
		return 0, err
	}
	if len(docs) == 0 {
		return 0, fmt.Errorf("store artifacts of %s in job %s: none given", dataset, jobID)
	}
	art, done := j.artifactsKey(jobID, dataset), j.doneKey(jobID, dataset)
	var card *goredis.IntCmd
	_, err := j.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for format, doc := range docs {
			p.HSet(ctx, art, format, doc)
			p.SAdd(ctx, done, format)
		}
		p.PExpire(ctx, art, j.ttl)
		p.PExpire(ctx, done, j.ttl)
		card = p.SCard(ctx, done)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store artifacts %v of %s in job %s in redis: %w", slices.Sorted(maps.Keys(docs)), dataset, jobID, err)
	}
	return card.Val(), nil
}

// Artifacts returns the artifact documents of dataset in job jobID by
// format (empty if there are none).
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

// DoneFormats returns the formats in the fan-in set of dataset in job
// jobID, in no particular order.
func (j *Jobs) DoneFormats(ctx context.Context, jobID, dataset string) ([]string, error) {
	if err := checkID(jobID); err != nil {
		return nil, err
	}
	f, err := j.c.SMembers(ctx, j.doneKey(jobID, dataset)).Result()
	if err != nil {
		return nil, fmt.Errorf("read exported formats of %s in job %s from redis: %w", dataset, jobID, err)
	}
	return f, nil
}

func hashBytes(ctx context.Context, c goredis.UniversalClient, key string) (map[string][]byte, error) {
	h, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	m := make(map[string][]byte, len(h))
	for k, v := range h {
		m[k] = []byte(v)
	}
	return m, nil
}
