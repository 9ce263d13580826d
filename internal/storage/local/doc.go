// Package local implements storage.Store on a local directory: files are
// written under a temporary name in the same directory and renamed into
// place, "latest" names are relative symlinks swapped atomically, and the
// directory is created on first use.
package local
