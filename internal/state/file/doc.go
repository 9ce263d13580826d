// Package file implements state.Store with a JSON state file, for the
// embedded runner. Every change is a read-modify-write under an exclusive
// flock(2) of "<file>.lock", written to a temporary file and renamed, so a
// crash never leaves a torn state file. Dataset locks are flock(2) locks on
// one file per dataset: the kernel releases them when a process dies, so a
// killed run never leaves a stale lock behind.
package file
