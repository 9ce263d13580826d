// Package statetest holds the conformance suites of the state interfaces:
// Run for every state.Store implementation (state file, Redis) and RunJobs
// for every state.Jobs implementation (memory, Redis).
package statetest
