package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/countydatasync/countysync/internal/storage"
)

// Exclusive puts and why they take a claim.
//
// A single PUT with If-None-Match: * is atomic on MinIO: of concurrent
// conditional PUTs of one key exactly one succeeds. A conditional
// CompleteMultipartUpload is not: MinIO checks the condition before it
// commits, so concurrent multipart uploads (or a multipart upload racing a
// single PUT) can all succeed, the last one winning. An exclusive Put
// therefore first claims the key with a small conditional single PUT of a
// claim object (claimDir + key, hidden from List), then uploads the file
// with If-None-Match: * (which still catches a key written earlier), then
// deletes the claim. Concurrent exclusive writers of a key lose the claim
// and get storage.ErrExists.
//
// The holder refreshes its claim every claimTTL/4 with a PUT conditional on
// the claim's ETag (each claim body is unique, so is its ETag). A claim
// older than claimTTL belongs to a writer that died; the next writer takes
// it over with the same If-Match PUT, so a crash delays the next exclusive
// Put of that key by at most claimTTL. A holder whose refresh finds the
// claim taken over (it stalled for claimTTL) cancels its upload.

// claimDir holds claim objects, under the store prefix.
const claimDir = ".countysync/claims/"

// claimTTL is the age after which a claim that was not refreshed is stale.
// Clocks of the writers must agree to well within it.
var claimTTL = 2 * time.Minute

// errNoConditionalPut reports a server that rejects If-None-Match.
var errNoConditionalPut = errors.New("server does not support conditional PUT")

// errClaimLost cancels an upload whose claim was taken over.
var errClaimLost = errors.New("exclusive claim was taken over by another writer after this one stalled")

// putExclusive uploads under a claim; see above.
func (s *Store) putExclusive(ctx context.Context, key, obj string, opts minio.PutObjectOptions, upload func(context.Context, minio.PutObjectOptions) error) error {
	where := "put " + s.Location(key)
	claim := s.prefix + claimDir + key
	etag, err := s.claim(ctx, where, obj, claim)
	if err != nil {
		return err
	}
	uctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	lost := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.refreshClaim(uctx, claim, etag, func() { close(lost); cancel(errClaimLost) })
	}()

	cond := opts
	cond.SetMatchETagExcept("*")
	err = upload(uctx, cond)
	if code(err) == "NotImplemented" {
		// A server that takes conditional single PUTs but not conditional
		// multipart uploads: the claim alone keeps exclusive writers apart.
		if _, serr := s.client.StatObject(uctx, s.bucket, obj, minio.StatObjectOptions{}); serr == nil {
			err = minio.ErrorResponse{Code: "PreconditionFailed", StatusCode: 412}
		} else {
			err = upload(uctx, opts)
		}
	}
	cancel(nil)
	wg.Wait()
	select {
	case <-lost:
		return fmt.Errorf("%s: %w", where, errClaimLost)
	default:
	}
	// Release the claim even if ctx is done.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	if rerr := s.client.RemoveObject(rctx, s.bucket, claim, minio.RemoveObjectOptions{}); rerr != nil {
		s.log.Warn("cannot release exclusive claim; it expires on its own", "key", key, "err", s.wrap("delete claim", rerr))
	}
	rcancel()
	switch code(err) {
	case "":
		if err != nil {
			return s.wrap(where, err)
		}
		return nil
	case "PreconditionFailed":
		return fmt.Errorf("%s: %w", where, storage.ErrExists)
	}
	return s.wrap(where, err)
}

// claimBody returns a unique claim body, so that every claim PUT has its
// own ETag.
func claimBody() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	return fmt.Sprintf("countysync exclusive put\nhost %s pid %d\ntime %s\nnonce %s\n",
		host, os.Getpid(), time.Now().UTC().Format(time.RFC3339Nano), hex.EncodeToString(b[:]))
}

// putClaim writes the claim object, conditional on it not existing
// (ifMatch == "") or on it having ETag ifMatch.
func (s *Store) putClaim(ctx context.Context, claim, ifMatch string) (string, error) {
	body := claimBody()
	opts := minio.PutObjectOptions{ContentType: "text/plain; charset=utf-8"}
	if ifMatch == "" {
		opts.SetMatchETagExcept("*")
	} else {
		opts.SetMatchETag(ifMatch)
	}
	info, err := s.client.PutObject(ctx, s.bucket, claim, strings.NewReader(body), int64(len(body)), opts)
	if err != nil {
		return "", err
	}
	return info.ETag, nil
}

// claim takes the claim of obj and returns its ETag, or fails with
// storage.ErrExists if obj exists or another live writer holds the claim.
func (s *Store) claim(ctx context.Context, where, obj, claim string) (string, error) {
	for attempt := 0; ; attempt++ {
		etag, err := s.putClaim(ctx, claim, "")
		switch code(err) {
		case "":
			if err != nil {
				return "", s.wrap(where, err)
			}
			return etag, nil
		case "NotImplemented":
			return "", errNoConditionalPut
		case "ConditionalRequestConflict":
			// AWS: a competing conditional write is in flight; ask again.
			if attempt < 4 {
				if err := sleep(ctx, time.Duration(100<<attempt)*time.Millisecond); err != nil {
					return "", s.wrap(where, err)
				}
				continue
			}
			return "", s.wrap(where, err)
		case "PreconditionFailed":
		default:
			return "", s.wrap(where, err)
		}
		// Someone holds or held the claim.
		if _, err := s.client.StatObject(ctx, s.bucket, obj, minio.StatObjectOptions{}); err == nil {
			return "", fmt.Errorf("%s: %w", where, storage.ErrExists)
		}
		info, err := s.client.StatObject(ctx, s.bucket, claim, minio.StatObjectOptions{})
		if err != nil {
			if code(err) == "NoSuchKey" && attempt < 4 {
				continue // released meanwhile: try again
			}
			return "", s.wrap(where, err)
		}
		if time.Since(info.LastModified) < claimTTL {
			return "", fmt.Errorf("%s: %w (another writer is uploading it)", where, storage.ErrExists)
		}
		s.log.Warn("taking over a stale exclusive claim", "key", strings.TrimPrefix(obj, s.prefix), "claimed", info.LastModified)
		etag, err = s.putClaim(ctx, claim, info.ETag)
		if code(err) == "PreconditionFailed" {
			return "", fmt.Errorf("%s: %w (another writer took over the stale claim)", where, storage.ErrExists)
		}
		if err != nil {
			return "", s.wrap(where, err)
		}
		return etag, nil
	}
}

// refreshClaim renews the claim every claimTTL/4 until ctx is done, and
// calls lost if another writer took it over.
func (s *Store) refreshClaim(ctx context.Context, claim, etag string, lost func()) {
	t := time.NewTicker(claimTTL / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next, err := s.putClaim(ctx, claim, etag)
		switch {
		case err == nil:
			etag = next
		case ctx.Err() != nil:
			return
		case code(err) == "PreconditionFailed" || code(err) == "NoSuchKey":
			lost()
			return
		default:
			s.log.Warn("cannot refresh exclusive claim", "claim", claim, "err", s.wrap("refresh claim", err))
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
