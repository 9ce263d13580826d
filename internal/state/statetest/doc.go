// Package statetest is the conformance suite every state.Store
// implementation runs (state file, Redis).
package statetest
