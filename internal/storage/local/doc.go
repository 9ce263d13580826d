// Package local implements storage.Store on a local directory: files are
// written under a temporary name in the same directory and renamed into
// place, "latest" names are relative symlinks swapped atomically, and Open
// creates the directory. An invalid key (absolute, not clean,
// or leaving the root) is an error wrapping storage.ErrPermanent.
package local
