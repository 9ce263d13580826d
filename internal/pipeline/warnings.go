package pipeline

import (
	"fmt"
	"sync"
)

// maxWarnings bounds the warning messages kept per dataset; the count is
// always exact.
const maxWarnings = 100

// Warnings collects a dataset's row-level warnings (unparsable geometry,
// non-finite numbers, invalid text) for the report.
type Warnings struct {
	mu       sync.Mutex
	count    int64
	messages []string
}

// Add records a warning.
func (w *Warnings) Add(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.count++
	if len(w.messages) < maxWarnings {
		w.messages = append(w.messages, fmt.Sprintf(format, args...))
	}
}

// Count returns how many warnings were recorded.
func (w *Warnings) Count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

// Messages returns the first warnings recorded (at most 100).
func (w *Warnings) Messages() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.messages...)
}
