package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/countydatasync/countysync/internal/storage"
	"github.com/countydatasync/countysync/internal/workdir"
)

var _ storage.Store = (*Store)(nil)

const (
	// DefaultEndpoint is the endpoint used when the URL names none.
	DefaultEndpoint = "s3.amazonaws.com"
	// PartSize is the multipart part size: files up to this size go up in a
	// single PUT, larger ones as a multipart upload of parts this big
	// (which allows objects up to 160 GiB).
	PartSize = 16 << 20
	// openTimeout bounds the reachability and bucket check of Open when
	// the caller's context has no deadline.
	openTimeout = 30 * time.Second
)

// Store is a storage.Store on one bucket and key prefix of an
// S3-compatible server.
type Store struct {
	client   *minio.Client
	endpoint string // host[:port], for messages
	bucket   string
	prefix   string // "" or ends with "/"
	secret   string // scrubbed from error messages
	work     *workdir.Dir
	log      *slog.Logger

	fallbackOnce sync.Once
	noCondPut    bool // server rejected If-None-Match; guarded by mu
	mu           sync.Mutex
}

// Config is the parsed form of an s3:// URL.
type Config struct {
	Bucket   string
	Prefix   string // without leading or trailing slash
	Endpoint string // host[:port]
	Secure   bool
	Region   string
}

// ParseURL parses s3://bucket/prefix?endpoint=host:9000&secure=false&region=r.
// Unknown query parameters and parameters that would carry secrets are
// errors: credentials come from the environment only.
func ParseURL(rawURL string) (Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Config{}, permanent(fmt.Errorf("s3 storage: invalid URL: %w", errors.Unwrap(err)))
	}
	if u.Scheme != "s3" {
		return Config{}, permanent(fmt.Errorf("s3 storage: URL scheme is %q, want s3://bucket/prefix", u.Scheme))
	}
	if u.User != nil {
		return Config{}, permanent(errors.New("s3 storage: credentials in the URL are not supported; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"))
	}
	c := Config{
		Bucket:   u.Host,
		Prefix:   strings.Trim(path.Clean("/"+u.Path), "/"),
		Endpoint: DefaultEndpoint,
		Secure:   true,
	}
	if c.Bucket == "" {
		return Config{}, permanent(errors.New("s3 storage: URL names no bucket (want s3://bucket/prefix)"))
	}
	if err := s3utils.CheckValidBucketNameStrict(c.Bucket); err != nil {
		return Config{}, permanent(fmt.Errorf("s3 storage: bucket %q: %w", c.Bucket, err))
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "endpoint":
			if v == "" || strings.Contains(v, "/") {
				return Config{}, permanent(fmt.Errorf("s3 storage: endpoint %q must be host or host:port", v))
			}
			c.Endpoint = v
		case "secure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Config{}, permanent(fmt.Errorf("s3 storage: secure=%q must be true or false", v))
			}
			c.Secure = b
		case "region":
			c.Region = v
		default:
			return Config{}, permanent(fmt.Errorf("s3 storage: unknown URL parameter %q (known: endpoint, secure, region; credentials come from the environment)", k))
		}
	}
	return c, nil
}

// credentialsFromEnv returns static credentials from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN), or else from
// MINIO_ROOT_USER and MINIO_ROOT_PASSWORD.
func credentialsFromEnv() (id, secret, token string, err error) {
	pairs := [][2]string{
		{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
		{"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"},
	}
	for _, p := range pairs {
		id, secret = os.Getenv(p[0]), os.Getenv(p[1])
		switch {
		case id != "" && secret != "":
			if p[0] == "AWS_ACCESS_KEY_ID" {
				token = os.Getenv("AWS_SESSION_TOKEN")
			}
			return id, secret, token, nil
		case id != "" || secret != "":
			set, unset := p[0], p[1]
			if id == "" {
				set, unset = unset, set
			}
			return "", "", "", permanent(fmt.Errorf("s3 storage: %s is set but %s is not", set, unset))
		}
	}
	return "", "", "", permanent(errors.New("s3 storage: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or MINIO_ROOT_USER and MINIO_ROOT_PASSWORD)"))
}

// Open connects to the bucket named by rawURL (see the package
// documentation for its form and for where credentials come from),
// creates the bucket if it does not exist, and makes a private work
// folder, countysync-s3-<pid>-<random> under os.TempDir, that Close
// removes; it first removes the work folders of processes that died (see
// internal/workdir). log may be nil.
func Open(ctx context.Context, rawURL string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	id, secret, token, err := credentialsFromEnv()
	if err != nil {
		return nil, err
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(id, secret, token),
		Secure: cfg.Secure,
		Region: cfg.Region,
		// Checksums in trailers: every upload carries a SHA-256 the
		// server checks (see checksum.go).
		TrailingHeaders: true,
	})
	if err != nil {
		return nil, permanent(fmt.Errorf("s3 storage: endpoint %s: %w", cfg.Endpoint, err))
	}
	s := &Store{
		client:   client,
		endpoint: cfg.Endpoint,
		bucket:   cfg.Bucket,
		secret:   secret,
		log:      log.With("storage", "s3", "endpoint", cfg.Endpoint, "bucket", cfg.Bucket),
	}
	if cfg.Prefix != "" {
		s.prefix = cfg.Prefix + "/"
	}
	if err := s.ensureBucket(ctx, cfg.Region); err != nil {
		return nil, err
	}
	work, swept, err := workdir.Acquire(os.TempDir(), workPrefix, false)
	if err != nil {
		return nil, fmt.Errorf("s3 storage: work directory: %w", err)
	}
	for _, p := range swept {
		s.log.Info("removed the temporary files of a process that stopped", "path", p)
	}
	s.work = work
	return s, nil
}

// ensureBucket checks that the endpoint answers and the bucket exists,
// creating it if needed.
func (s *Store) ensureBucket(ctx context.Context, region string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, openTimeout)
		defer cancel()
	}
	where := fmt.Sprintf("s3 storage: endpoint %s, bucket %s", s.endpoint, s.bucket)
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		if code(err) == "" {
			return s.wrap(where+": endpoint unreachable", err)
		}
		return s.wrap(where, err)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	if err != nil && code(err) != "BucketAlreadyOwnedByYou" {
		return s.wrap(where+": create bucket", err)
	}
	s.log.Info("created bucket")
	return nil
}

// workPrefix starts the names of the work folders under os.TempDir.
const workPrefix = "countysync-s3-"

// WorkDir implements storage.Store: a private temporary directory,
// removed by Close.
func (s *Store) WorkDir() string { return s.work.Path() }

// Bucket returns the store's bucket.
func (s *Store) Bucket() string { return s.bucket }

// Prefix returns the store's key prefix: empty or ending with "/".
func (s *Store) Prefix() string { return s.prefix }

// object returns the object name of key, rejecting keys that are not
// clean relative paths (the same rule as the local store).
func (s *Store) object(key string) (string, error) {
	clean := path.Clean("/" + key)[1:]
	if clean == "" || clean != key || strings.HasPrefix(clean, "../") || strings.HasPrefix(clean, claimDir) {
		return "", permanent(fmt.Errorf("invalid storage key %q", key))
	}
	return s.prefix + key, nil
}

// contentType guesses a Content-Type from the key's extension, so that
// browsers and GIS tools fetching objects directly get a useful one.
func contentType(key string) string {
	switch path.Ext(key) {
	case ".csv":
		return "text/csv; charset=utf-8"
	case ".json":
		return "application/json"
	case ".geojson":
		return "application/geo+json"
	case ".sqlite":
		return "application/vnd.sqlite3"
	case ".gpkg":
		return "application/geopackage+sqlite3"
	}
	if t := mime.TypeByExtension(path.Ext(key)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Put implements storage.Store. The file goes up in one PUT, or as a
// multipart upload when larger than PartSize, and is removed after a
// successful upload (on failure it stays for the caller to retry; Close
// removes whatever is left in WorkDir). An exclusive Put fails with
// storage.ErrExists when the key exists or another exclusive Put of it is
// in flight; see exclusive.go for how that holds under concurrency.
func (s *Store) Put(ctx context.Context, key, src string, exclusive bool) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	return s.putFile(ctx, key, obj, src, "", exclusive)
}

// PutSHA256 implements storage.SHA256Putter: Put, not exclusive, with the
// file's SHA-256 sent for the server to check (see checksum.go).
func (s *Store) PutSHA256(ctx context.Context, key, src, sum string) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	raw, err := hex.DecodeString(sum)
	if err != nil || len(raw) != sha256.Size {
		return permanent(fmt.Errorf("put %s: bad sha256 %q", s.Location(key), sum))
	}
	return s.putFile(ctx, key, obj, src, sum, false)
}

// putFile uploads the local file src under obj, with its hex SHA-256 sum
// when known, and removes src once it is published.
func (s *Store) putFile(ctx context.Context, key, obj, src, sum string, exclusive bool) error {
	upload := func(ctx context.Context, opts minio.PutObjectOptions) error {
		if sum != "" {
			fi, err := os.Stat(src)
			if err != nil {
				return err
			}
			opts = withSHA256(opts, fi.Size(), sum)
		}
		_, err := s.client.FPutObject(ctx, s.bucket, obj, src, opts)
		return err
	}
	if err := s.put(ctx, key, obj, exclusive, upload); err != nil {
		return err
	}
	if err := os.Remove(src); err != nil {
		s.log.Warn("cannot remove uploaded file", "path", src, "err", err)
	}
	return nil
}

// PutBytes implements storage.Store.
func (s *Store) PutBytes(ctx context.Context, key string, data []byte) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	return s.put(ctx, key, obj, false, func(ctx context.Context, opts minio.PutObjectOptions) error {
		opts = withSHA256(opts, int64(len(data)), hex.EncodeToString(sum[:]))
		_, err := s.client.PutObject(ctx, s.bucket, obj, bytes.NewReader(data), int64(len(data)), opts)
		return err
	})
}

// put runs upload with the options for key, exclusively if asked (see
// exclusive.go), and translates the outcome.
func (s *Store) put(ctx context.Context, key, obj string, exclusive bool, upload func(context.Context, minio.PutObjectOptions) error) error {
	opts := minio.PutObjectOptions{
		PartSize:     PartSize,
		ContentType:  contentType(key),
		AutoChecksum: minio.ChecksumSHA256,
	}
	if !exclusive {
		if err := upload(ctx, opts); err != nil {
			return s.wrap("put "+s.Location(key), err)
		}
		return nil
	}
	if s.conditionalPutUnsupported() {
		return s.putAfterStat(ctx, key, obj, opts, upload)
	}
	err := s.putExclusive(ctx, key, obj, opts, upload)
	if errors.Is(err, errNoConditionalPut) {
		s.markConditionalPutUnsupported()
		return s.putAfterStat(ctx, key, obj, opts, upload)
	}
	return err
}

func (s *Store) conditionalPutUnsupported() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.noCondPut
}

func (s *Store) markConditionalPutUnsupported() {
	s.mu.Lock()
	s.noCondPut = true
	s.mu.Unlock()
	s.fallbackOnce.Do(func() {
		s.log.Warn("server does not support conditional PUT (If-None-Match); exclusive puts fall back to a check before the upload, which concurrent writers can race")
	})
}

// putAfterStat is the exclusive Put for servers without conditional
// PUT: check, then upload. Two writers that both pass the check both
// write, and the last one wins.
func (s *Store) putAfterStat(ctx context.Context, key, obj string, opts minio.PutObjectOptions, upload func(context.Context, minio.PutObjectOptions) error) error {
	opts = minio.PutObjectOptions{PartSize: opts.PartSize, ContentType: opts.ContentType, AutoChecksum: opts.AutoChecksum}
	_, err := s.client.StatObject(ctx, s.bucket, obj, minio.StatObjectOptions{})
	switch {
	case err == nil:
		return fmt.Errorf("put %s: %w", s.Location(key), storage.ErrExists)
	case code(err) != "NoSuchKey" && code(err) != "NotFound":
		return s.wrap("put "+s.Location(key), err)
	}
	if err := upload(ctx, opts); err != nil {
		return s.wrap("put "+s.Location(key), err)
	}
	return nil
}

// copyLimit is the largest object a single CopyObject may copy (5 GiB);
// larger ones are copied part by part with ComposeObject.
var copyLimit int64 = 5 << 30

// Link implements storage.Store with a server-side copy of target to
// latest, replacing latest atomically. The copy is pinned to the ETag of
// the target it found, and carries the Content-Type of latest's
// extension (a plain copy loses it on MinIO).
func (s *Store) Link(ctx context.Context, latest, target string) error {
	dst, err := s.object(latest)
	if err != nil {
		return err
	}
	src, err := s.object(target)
	if err != nil {
		return err
	}
	op := fmt.Sprintf("link %s -> %s", s.Location(latest), target)
	info, err := s.client.StatObject(ctx, s.bucket, src, minio.StatObjectOptions{})
	if err != nil {
		return s.wrap(op, err)
	}
	ct := contentType(latest)
	d := minio.CopyDestOptions{
		Bucket:          s.bucket,
		Object:          dst,
		ContentType:     ct,
		ReplaceMetadata: true,
		UserMetadata:    map[string]string{"Content-Type": ct, targetMeta: target},
	}
	from := minio.CopySrcOptions{Bucket: s.bucket, Object: src, MatchETag: info.ETag}
	if info.Size <= copyLimit {
		_, err = s.client.CopyObject(ctx, d, from)
	} else {
		_, err = s.client.ComposeObject(ctx, d, from)
	}
	if err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// targetMeta is the user metadata of a latest name that records the key
// it is a copy of (x-amz-meta-countysync-target).
const targetMeta = "Countysync-Target"

// LinkTarget implements storage.Store: the key recorded in the latest
// name's metadata by Link.
func (s *Store) LinkTarget(ctx context.Context, latest string) (string, error) {
	obj, err := s.object(latest)
	if err != nil {
		return "", err
	}
	info, err := s.client.StatObject(ctx, s.bucket, obj, minio.StatObjectOptions{})
	if err != nil {
		return "", s.wrap("latest name "+s.Location(latest), err)
	}
	target := info.UserMetadata[targetMeta]
	if target == "" {
		return "", fmt.Errorf("latest name %s: %w", s.Location(latest), storage.ErrUnknownTarget)
	}
	return target, nil
}

// Open implements storage.Store.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := s.object(key)
	if err != nil {
		return nil, err
	}
	o, err := s.client.GetObject(ctx, s.bucket, obj, minio.GetObjectOptions{})
	if err == nil {
		// The first request happens here; it reports a missing key.
		_, err = o.Stat()
	}
	if err != nil {
		if o != nil {
			o.Close()
		}
		return nil, s.wrap("open "+s.Location(key), err)
	}
	return &reader{o: o, s: s, what: "read " + s.Location(key)}, nil
}

// reader translates the errors of a minio.Object read.
type reader struct {
	o    *minio.Object
	s    *Store
	what string
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.o.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.wrap(r.what, err)
	}
	return n, err
}

func (r *reader) Close() error { return r.o.Close() }

// List implements storage.Store. Keys are returned sorted and without the
// store's prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var keys []string
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix:    s.prefix + prefix,
		Recursive: true,
	}) {
		if o.Err != nil {
			return nil, s.wrap(fmt.Sprintf("list %s", s.Location(prefix)), o.Err)
		}
		k := strings.TrimPrefix(o.Key, s.prefix)
		if !strings.HasPrefix(k, claimDir) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	err = s.client.RemoveObject(ctx, s.bucket, obj, minio.RemoveObjectOptions{})
	if err != nil && code(err) != "NoSuchKey" {
		return s.wrap("delete "+s.Location(key), err)
	}
	return nil
}

// Location implements storage.Store: s3://bucket/prefix/key.
func (s *Store) Location(key string) string {
	return "s3://" + s.bucket + "/" + s.prefix + key
}

// Close implements storage.Store: it removes the work directory.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	if err := s.work.Close(); err != nil {
		return fmt.Errorf("s3 storage: remove work directory: %w", err)
	}
	return nil
}
