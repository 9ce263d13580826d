package config

import "time"

const (
	defaultLockWait        = 30 * time.Second
	defaultMaxFuture       = time.Hour
	defaultLockLease       = 2 * time.Minute
	defaultShutdownTimeout = 30 * time.Second
	defaultWorkerListen    = "127.0.0.1:9090"
	defaultDashboardListen = "127.0.0.1:8080"
)

// The schema policies of a dataset (Dataset.Schema).
const (
	SchemaEvolve = "evolve"
	SchemaFreeze = "freeze"
)
