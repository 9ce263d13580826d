// Package memory implements state.Jobs in process memory, for the
// embedded runner, whose steps all run in one process: the records live
// as long as the Jobs value and never expire. Byte slices are copied in
// and out, so neither the caller nor the store can change the other's.
package memory
