package state

import (
	"context"
	"errors"
	"time"
)

// Beats keeps heartbeats: short-lived marks that a piece of work (a queue
// task, by its id) is running, which the process running it renews every
// second or so. A mark that lapses means the process stopped (killed, or
// cut off from the store); another process may then take the work over,
// which marks it taken over for good, so that the first process stops at
// its next beat and a later delivery of the same work does nothing.
//
// Taking over and beating are atomic against each other: at most one of
// "the beat came back" and "the work was taken over" happens.
type Beats interface {
	// Beat marks name alive for ttl. It fails with an error wrapping
	// ErrTakenOver if name was taken over: the work runs elsewhere and
	// this run must stop.
	Beat(ctx context.Context, name string, ttl time.Duration) error
	// BeatStatus returns the status of each name, in order.
	BeatStatus(ctx context.Context, names []string) ([]BeatStatus, error)
	// TakeOver marks name taken over for keep, unless it is alive or
	// taken over already, and reports whether it did.
	TakeOver(ctx context.Context, name string, keep time.Duration) (bool, error)
	// EndBeat removes name's mark if it is alive (a taken-over mark stays).
	EndBeat(ctx context.Context, name string) error
}

// BeatStatus is what the store knows of a heartbeat.
type BeatStatus int

const (
	// BeatNone: no mark (never beat, ended, or lapsed).
	BeatNone BeatStatus = iota
	// BeatAlive: beaten within its ttl.
	BeatAlive
	// BeatTakenOver: taken over by another process.
	BeatTakenOver
)

// ErrTakenOver means a heartbeat's work was taken over by another process.
var ErrTakenOver = errors.New("work was taken over after its heartbeat lapsed")
