package queue

import (
	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/redisurl"
)

// RedisConnOpt returns asynq's connection options for a Redis URL:
// redis:// and rediss:// as asynq reads them, and
// redis-sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB] (the
// syntax of internal/redisurl, which the state store reads too) as a
// failover client that asks the Sentinels for the primary and follows it
// when they fail over.
func RedisConnOpt(url string) (asynq.RedisConnOpt, error) {
	if !redisurl.IsSentinel(url) {
		return asynq.ParseRedisURI(url)
	}
	s, err := redisurl.ParseSentinel(url)
	if err != nil {
		return nil, err
	}
	return asynq.RedisFailoverClientOpt{
		MasterName: s.Master, SentinelAddrs: s.Addrs, SentinelPassword: s.Password,
		Username: s.Username, Password: s.Password, DB: s.DB,
	}, nil
}
