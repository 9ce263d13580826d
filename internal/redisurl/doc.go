// Package redisurl parses the redis-sentinel:// URLs of a Redis behind
// Sentinel, for the two libraries that connect to Redis: go-redis (the
// state store, internal/state/redis) and asynq (internal/queue). It
// depends on neither, so both sides read one syntax:
//
//	redis-sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB]
//
// The hosts are the Sentinels (each with its port), MASTER is
// the name they monitor, DB the database number (0 by default). USER and
// PASSWORD authenticate to the Redis servers and, the password, to the
// Sentinels too. redis:// and rediss:// URLs are each library's own.
package redisurl
