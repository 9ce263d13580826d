package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/countydatasync/countysync/internal/queue"
	"github.com/countydatasync/countysync/internal/storage/s3"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// redisCLI runs redis-cli against the server on port and returns its
// output ("" on error).
func redisCLI(port int, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(port)}, args...)...).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// sentinelSetup is a primary, a replica and three Sentinels on loopback,
// started by the test (Debian's redis-sentinel is redis-server
// --sentinel).
type sentinelSetup struct {
	primary, replica *daemon
	primaryPort      int
	replicaPort      int
	sentinelPorts    []int
	url              string
}

const sentinelMaster = "csmaster"

func startSentinels(t *testing.T) *sentinelSetup {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is needed (make test installs it)")
	}
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatal("redis-cli is needed (make test installs it)")
	}
	s := &sentinelSetup{primaryPort: freePort(t), replicaPort: freePort(t)}
	server := func(port int, extra ...string) *daemon {
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()}, extra...)
		d := &daemon{t: t, name: bin, args: args, up: func() bool { return strings.TrimSpace(redisCLI(port, "PING")) == "PONG" }}
		d.start()
		t.Cleanup(d.kill)
		return d
	}
	s.primary = server(s.primaryPort)
	s.replica = server(s.replicaPort, "--replicaof", "127.0.0.1", strconv.Itoa(s.primaryPort))
	waitFor(t, 30*time.Second, "the replica to sync", func() bool {
		return strings.Contains(redisCLI(s.replicaPort, "INFO", "replication"), "master_link_status:up")
	})
	var addrs []string
	for i := 0; i < 3; i++ {
		port := freePort(t)
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %s 1000\n"+
			"sentinel failover-timeout %s 10000\n"+
			"sentinel parallel-syncs %s 1\n", port, dir, sentinelMaster, s.primaryPort, sentinelMaster, sentinelMaster, sentinelMaster)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		d := &daemon{t: t, name: bin, args: []string{conf, "--sentinel"}, up: func() bool { return strings.TrimSpace(redisCLI(port, "PING")) == "PONG" }}
		d.start()
		t.Cleanup(d.kill)
		s.sentinelPorts = append(s.sentinelPorts, port)
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", port))
	}
	// Every Sentinel knows the replica and the two other Sentinels, or a
	// failover cannot be agreed.
	waitFor(t, 60*time.Second, "the Sentinels to find each other and the replica", func() bool {
		for _, p := range s.sentinelPorts {
			info := redisCLI(p, "SENTINEL", "MASTER", sentinelMaster)
			if !strings.Contains(info, "num-other-sentinels\n2\n") || !strings.Contains(info, "num-slaves\n1\n") {
				return false
			}
		}
		return true
	})
	s.url = fmt.Sprintf("redis-sentinel://%s/%s/0", strings.Join(addrs, ","), sentinelMaster)
	return s
}

// primaryAddr asks a Sentinel which server is the primary now.
func (s *sentinelSetup) primaryPortNow() int {
	for _, p := range s.sentinelPorts {
		lines := strings.Fields(redisCLI(p, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentinelMaster))
		if len(lines) == 2 {
			port, _ := strconv.Atoi(lines[1])
			return port
		}
	}
	return 0
}

// csvIDs parses a published CSV with encoding/csv and returns its ids
// (the first column), in file order.
func csvIDs(t *testing.T, data []byte) []int64 {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v", err)
	}
	var ids []int64
	for _, rec := range recs[1:] {
		id, err := strconv.ParseInt(rec[0], 10, 64)
		if err != nil {
			t.Fatalf("id %q: %v", rec[0], err)
		}
		ids = append(ids, id)
	}
	return ids
}

// TestSentinelFailoverDuringJob runs workers on a Redis behind Sentinel
// (redis-sentinel:// for the queue and the state store), kills the
// primary with SIGKILL while the job's exports run, and checks that the
// Sentinels promote the replica, that the job ends (succeeded, or failed
// with a reason), and that the next job publishes every source row exactly
// once (the CSV read back with encoding/csv against PostgreSQL's ids).
func TestSentinelFailoverDuringJob(t *testing.T) {
	const rows = 150000
	pg := testsvc.PG(t)
	testsvc.PGExec(t, pg, seedSQL(rows))
	s3url := testsvc.S3(t)
	sen := startSentinels(t)
	cfg := writeConfig(t, configText(pg, s3url, sen.url))
	start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "2")
	start(t, nil, "worker", "--config", cfg, "--listen", "off", "--concurrency", "2")
	out, errOut, code := run(t, nil, time.Minute, "enqueue", "--config", cfg, "--dataset", "parcels")
	if code != 0 {
		t.Fatalf("enqueue through Sentinel: exit %d: %s", code, errOut)
	}
	jobID := strings.TrimSpace(out)
	opt, err := queue.RedisConnOpt(sen.url)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	activeWait(t, insp, queueName(t, cfg, "export"))
	insp.Close()
	killed := time.Now()
	sen.primary.kill()
	waitFor(t, 60*time.Second, "the Sentinels to promote the replica", func() bool { return sen.primaryPortNow() == sen.replicaPort })
	t.Logf("killed the primary during the exports of %s; the replica was promoted after %s", jobID, time.Since(killed).Round(time.Millisecond))

	rep := waitJob(t, cfg, jobID, 5*time.Minute)
	t.Logf("job %s after the failover: %v %v", jobID, rep["status"], rep["error"])
	if rep["status"] == "succeeded" {
		checkPublished(t, s3url, rep, "parcels", rows)
	} else if e, _ := rep["error"].(string); e == "" {
		t.Fatalf("job failed without a reason: %v", rep)
	}

	// The next job publishes every row once, whatever the first did.
	time.Sleep(time.Second) // the next job id
	out, errOut, code = run(t, nil, 5*time.Minute, "enqueue", "--config", cfg, "--dataset", "parcels", "--wait", "--timeout", "240s")
	if code != 0 {
		t.Fatalf("job after the failover: exit %d: %s %s", code, out, errOut)
	}
	next := report(t, out)
	checkPublished(t, s3url, next, "parcels", rows)
	st, err := s3.Open(context.Background(), s3url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids := csvIDs(t, object(t, st, artifactsOf(t, next, "parcels")["csv"]["key"].(string)))
	if len(ids) != rows {
		t.Fatalf("CSV has %d rows, want %d", len(ids), rows)
	}
	var want int64
	testsvc.PGQueryRow(t, pg, `SELECT count(DISTINCT id) FROM parcels`, &want)
	for i, id := range ids {
		if id != int64(i+1) { // key order, each id once (ids are 1..n)
			t.Fatalf("row %d has id %d: a row is missing or repeated", i+1, id)
		}
	}
	if int64(len(ids)) != want {
		t.Fatalf("%d ids published, PostgreSQL has %d", len(ids), want)
	}
}
