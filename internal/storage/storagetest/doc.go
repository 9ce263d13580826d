// Package storagetest is the conformance suite every storage.Store
// implementation runs (local directory, S3): the same behaviour, checked the
// same way.
package storagetest
