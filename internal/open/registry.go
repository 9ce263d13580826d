package open

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/countydatasync/countysync/internal/redact"
)

// registry maps URL schemes to the opener of one kind of edge.
type registry[T any] struct {
	kind    string
	openers map[string]T
}

// lookup returns the opener of url's scheme and the rest of the URL after
// "scheme://".
func (r registry[T]) lookup(url string) (T, string, error) {
	scheme, rest, ok := strings.Cut(url, "://")
	if o, known := r.openers[scheme]; ok && known {
		return o, rest, nil
	}
	var zero T
	var schemes []string
	for _, s := range slices.Sorted(maps.Keys(r.openers)) {
		schemes = append(schemes, s+"://")
	}
	return zero, "", fmt.Errorf("unsupported %s URL %s (use %s)", r.kind, redact.URL(url), strings.Join(schemes, ", "))
}
