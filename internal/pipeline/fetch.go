package pipeline

import (
	"context"
	"io"
	"os"

	"github.com/countydatasync/countysync/internal/storage"
)

// Fetch copies the object under key to the local file path (the previous
// snapshot of a merge; a snapshot another worker extracted).
func Fetch(ctx context.Context, store storage.Store, key, path string) error {
	in, err := store.Open(ctx, key)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(path)
		return err
	}
	return out.Close()
}
