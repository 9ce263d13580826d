// Package file implements state.Store with a JSON state file, for the
// embedded runner. Every change is a read-modify-write under an exclusive
// flock(2) of "<file>.lock", written to a temporary file and renamed, so a
// crash never leaves a torn state file.
//
// A lock is a flock(2) on one file per lock name in the "locks" directory
// beside the state file, holding the owner's name, plus an entry in a
// table of the locks the process holds. The table makes a lock re-entrant
// for its owner within the process (a step that kept it hands it to the
// job's next step) and wakes the process's waiters when it is given up;
// the flock excludes other processes, and the kernel releases it when a
// process dies, so a killed run never leaves a stale lock behind. Lock
// names may hold any byte: they are escaped into one file name.
package file
