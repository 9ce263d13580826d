package e2e

import (
	"bytes"
	"context"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/countydatasync/countysync/internal/storage/s3"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// TestNoSecretWritten runs jobs — one dataset succeeding, one failing —
// embedded and distributed with known secrets, then searches everything
// written: stdout and stderr of every process (debug logs), the export
// directory with its state and manifests, every object in the bucket and
// every Redis key (job records, asynq task payloads).
func TestNoSecretWritten(t *testing.T) {
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(500))
	u, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	pgSecret, has := u.User.Password()
	if !has { // trust auth on the test server accepts any password: add one
		pgSecret = "Pg-Secret-7f3a9c"
		u.User = url.UserPassword(u.User.Username(), pgSecret)
	}
	pgURL := u.String()
	s3url := testsvc.S3(t)
	s3Secret := os.Getenv("AWS_SECRET_ACCESS_KEY")
	redisURL := testsvc.Redis(t)
	secrets := []string{pgSecret, s3Secret, "Dash-Secret-51e2"}
	env := []string{"COUNTYSYNC_DASHBOARD_PASSWORD=Dash-Secret-51e2", "COUNTYSYNC_DASHBOARD_USER=clerk"}

	text := configText("${COUNTYSYNC_SOURCE_URL}", s3url, redisURL) +
		"  - {name: broken, query: SELECT * FROM no_such_table}\n"
	cfg := writeConfig(t, text)
	env = append(env, "COUNTYSYNC_SOURCE_URL="+pgURL)
	var written [][]byte
	w := start(t, env, "--log-level", "debug", "worker", "--config", cfg, "--listen", "off")
	out, errOut, code := run(t, env, 3*time.Minute, "--log-level", "debug", "enqueue", "--config", cfg, "--wait", "--timeout", "150s")
	if code == 0 {
		t.Fatal("a job with a broken dataset succeeded")
	}
	if !strings.Contains(out, "no_such_table") {
		t.Fatalf("the report does not say why the dataset failed:\n%s", out)
	}
	written = append(written, []byte(out), []byte(errOut))

	embDir := t.TempDir()
	embCfg := writeConfig(t, configText("${COUNTYSYNC_SOURCE_URL}", "file://"+embDir, "")+
		"  - {name: broken, query: SELECT * FROM no_such_table}\n")
	out, errOut, _ = run(t, env, 2*time.Minute, "--log-level", "debug", "run", "--config", embCfg)
	written = append(written, []byte(out), []byte(errOut))
	// An unreachable database: the error names the host, not the password.
	bad := strings.Replace(pgURL, u.Host, "127.0.0.1:1", 1)
	_, errOut, code = run(t, []string{"COUNTYSYNC_SOURCE_URL=" + bad}, time.Minute, "run", "--config", embCfg)
	if code == 0 || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Errorf("unreachable database: exit %d, %s", code, errOut)
	}
	written = append(written, []byte(errOut))

	filepath.WalkDir(embDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			written = append(written, b)
		}
		return nil
	})
	ctx := context.Background()
	st, err := s3.Open(ctx, s3url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, _ := st.List(ctx, "")
	for _, k := range keys {
		written = append(written, object(t, st, k))
	}
	ropt, _ := goredis.ParseURL(redisURL)
	rc := goredis.NewClient(ropt)
	defer rc.Close()
	n := 0
	iter := rc.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		n++
		k := iter.Val()
		switch rc.Type(ctx, k).Val() {
		case "string":
			written = append(written, []byte(rc.Get(ctx, k).Val()))
		case "hash":
			for f, v := range rc.HGetAll(ctx, k).Val() {
				written = append(written, []byte(f+v))
			}
		case "list":
			written = append(written, []byte(strings.Join(rc.LRange(ctx, k, 0, -1).Val(), "\n")))
		case "set":
			written = append(written, []byte(strings.Join(rc.SMembers(ctx, k).Val(), "\n")))
		case "zset":
			written = append(written, []byte(strings.Join(rc.ZRange(ctx, k, 0, -1).Val(), "\n")))
		}
	}
	_ = w
	written = append(written, []byte(w.out.String()))
	for _, s := range secrets {
		for i, b := range written {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("secret %q… found in written item %d: %.300s", s[:3], i, b)
			}
		}
	}
	t.Logf("searched %d outputs, files, objects and values (%d Redis keys) for %d secrets", len(written), n, len(secrets))
}
