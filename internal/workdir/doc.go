// Package workdir gives each process a private work folder for its
// temporary files, and removes the folders of processes that died.
//
// A work folder is "<parent>/<prefix><pid>-<random>" holding a file
// named "lock" that its process keeps open with an exclusive flock(2)
// for as long as the folder is in use. The kernel drops the flock when
// the process ends, however it ends (SIGKILL, OOM kill, power loss), so a
// lock that can be taken proves its owner is gone: Acquire sweeps such
// sibling folders before it makes its own. Folders and files of the
// parent's namespace without a lock file (written by older versions, or
// by a process killed while making its folder) are removed only once
// nothing in them changed for StaleAfter.
//
// Nothing here follows a symbolic link: a link at a folder's name, or a
// folder of another user, is left alone.
package workdir
