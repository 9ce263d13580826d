// Command s3clean deletes every object under an s3:// storage URL (bucket
// and prefix, as in a config's storage.url; credentials from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). scripts/bench.sh runs it on
// its scratch prefixes on MinIO after each measurement, so repeated
// benchmarks do not fill the disk.
//
//	go run ./scripts/s3clean 's3://countysync-bench/bench-123?endpoint=127.0.0.1:9000&secure=false'
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/countydatasync/countysync/internal/storage/s3"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: s3clean s3://bucket/prefix?endpoint=HOST:PORT&secure=BOOL")
		os.Exit(2)
	}
	n, err := clean(context.Background(), os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3clean:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "s3clean: deleted %d objects\n", n)
}

func clean(ctx context.Context, url string) (int, error) {
	cfg, err := s3.ParseURL(url)
	if err != nil {
		return 0, err
	}
	if cfg.Prefix == "" {
		return 0, fmt.Errorf("%s: refusing to empty a whole bucket; give a prefix", url)
	}
	st, err := s3.Open(ctx, url, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return 0, err
	}
	defer st.Close()
	keys, err := st.List(ctx, "")
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if err := st.Delete(ctx, k); err != nil {
			return i, err
		}
	}
	return len(keys), nil
}
