package pipeline

import (
	"context"
	"io"
	"os"

	"github.com/countydatasync/countysync/internal/safefs"
	"github.com/countydatasync/countysync/internal/storage"
)

// fetch copies the object under key to the local file path (the previous
// snapshot of a merge; a snapshot another worker extracted).
func fetch(ctx context.Context, store storage.Store, key, path string) error {
	in, err := store.Open(ctx, key)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := safefs.Replace(path)
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

// putCopy publishes a copy of the local file under key and keeps the file
// (Put consumes its source; the snapshot cache keeps the original). The
// copy is a hard link when the file system allows.
func putCopy(ctx context.Context, store storage.Store, key, path string) error {
	cp := path + ".put"
	if err := os.Link(path, cp); err != nil {
		in, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := safefs.WriteFile(cp, in); err != nil {
			return err
		}
	}
	defer os.Remove(cp)
	return store.Put(ctx, key, cp, false)
}

// putExclusive publishes data under key unless key exists (then it fails
// with storage.ErrExists).
func putExclusive(ctx context.Context, store storage.Store, key string, data []byte) error {
	tmp, err := os.CreateTemp(store.WorkDir(), "claim-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return store.Put(ctx, key, tmp.Name(), true)
}
