// Package countysyncv1 holds the protobuf task payloads of the distributed
// mode (tasks.proto) and their generated Go code (tasks.pb.go, made by
// `make proto`; a test fails when the committed code is stale).
package countysyncv1
