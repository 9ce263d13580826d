package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrLink is wrapped by the errors for a symbolic link where a file or
// folder of countysync's own was expected.
var ErrLink = errors.New("is a symbolic link; countysync does not follow links in its own folders")

// Create creates a new file at path for writing, with the mode os.Create
// gives (0o666 before the umask: artifacts are renamed into place). It never
// follows a symbolic link and never truncates an existing file: a path
// that exists fails with an error wrapping fs.ErrExist (and ErrLink when
// it is a link).
func Create(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o666)
	if err != nil {
		return nil, explain(path, err)
	}
	return f, nil
}

// Replace is Create after removing whatever is at path (a file or a link,
// never what a link points at): for temporary names a killed run may have
// left behind.
func Replace(path string) (*os.File, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return Create(path)
}

// Touch creates an empty file at path as Replace does and closes it, for
// files another library opens by name afterwards (SQLite databases).
func Touch(path string) error {
	f, err := Replace(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// OpenFile is os.OpenFile that fails, with an error wrapping ErrLink,
// when the last element of path is a symbolic link.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, perm)
	if err != nil {
		return nil, explain(path, err)
	}
	return f, nil
}

// ReadFile reads the file at path without following a link there.
func ReadFile(path string) ([]byte, error) {
	f, err := OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// WriteFile writes data to a new file at path as Replace creates it.
func WriteFile(path string, data []byte) error {
	f, err := Replace(path)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// explain names a symbolic link found where a file was expected.
func explain(path string, err error) error {
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, fs.ErrExist) {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s %w: %w", path, ErrLink, err)
		}
	}
	return err
}

// MkdirOwn makes sure dir is a folder of the running user's: it creates it
// (mode 0o700, and its parents as os.MkdirAll does) if missing, and
// refuses it if it is a symbolic link, not a folder, or owned by another
// user (see CheckDir).
func MkdirOwn(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return err
		}
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return CheckDir(dir)
}

// CheckDir refuses dir if it is a symbolic link, not a folder, or owned by
// a user other than the running one: files countysync writes there could
// be redirected by whoever controls it.
func CheckDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("folder %s %w", dir, ErrLink)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := os.Geteuid(); int(st.Uid) != uid {
			return fmt.Errorf("folder %s belongs to user id %d, not to the user running countysync (%d): remove it or chown it to that user", dir, st.Uid, uid)
		}
	}
	return nil
}

// CheckPath refuses a path below root whose folders (those between root
// and the last element, root excluded) include a symbolic link: a file
// written there would land outside root. Missing folders are fine.
func CheckPath(root, path string) error {
	rel, err := filepath.Rel(root, filepath.Dir(path))
	if err != nil || rel == "." {
		return err
	}
	cur := root
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("folder %s %w", cur, ErrLink)
		}
	}
	return nil
}
