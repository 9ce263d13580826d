// Package cli is the countysync command line (docs/ARCHITECTURE.md,
// Command line and configuration). Each command
// parses its flags into an options struct and calls a runX function that
// tests call directly; cmd/countysync only wires it to the process.
//
// Exit codes: 0 success, 1 the job ran and failed, 2 bad usage or config.
// The report goes to stdout as JSON; logs and progress go to stderr.
package cli
