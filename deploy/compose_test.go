package deploy

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	composecli "github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/countydatasync/countysync/internal/config"
)

// loadCompose loads docker-compose.yml the way `docker compose` does
// (interpolation, schema validation, normalization) with env as the
// project's environment.
func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	root := repoRoot(t)
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := composecli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		composecli.WithWorkingDirectory(root),
		composecli.WithEnv(list),
		composecli.WithConsistency(true),
		composecli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return s
}

func TestComposeDemoDefaults(t *testing.T) {
	checkCompose(t, loadCompose(t, nil))
}

func TestComposeSecretsFromEnvironment(t *testing.T) {
	env := map[string]string{
		"POSTGRES_PASSWORD":             "pg-Secret-1",
		"MINIO_ROOT_USER":               "minio-admin",
		"MINIO_ROOT_PASSWORD":           "minio-Secret-2",
		"COUNTYSYNC_DASHBOARD_USER":     "ops",
		"COUNTYSYNC_DASHBOARD_PASSWORD": "dash-Secret-3",
	}
	p := loadCompose(t, env)
	cfgs := checkCompose(t, p)
	// The secrets reach every container that needs them, and only through
	// the environment.
	if u, _ := url.Parse(cfgs["worker"].Source.URL); u == nil || u.User.String() != "county:pg-Secret-1" {
		t.Errorf("worker source.url does not carry POSTGRES_PASSWORD")
	}
	w := service(t, p, "worker").Environment
	if v := w["AWS_ACCESS_KEY_ID"]; v == nil || *v != "minio-admin" {
		t.Errorf("worker AWS_ACCESS_KEY_ID is not MINIO_ROOT_USER")
	}
	if v := w["AWS_SECRET_ACCESS_KEY"]; v == nil || *v != "minio-Secret-2" {
		t.Errorf("worker AWS_SECRET_ACCESS_KEY is not MINIO_ROOT_PASSWORD")
	}
	d := service(t, p, "dashboard").Environment
	if v := d["COUNTYSYNC_DASHBOARD_PASSWORD"]; v == nil || *v != "dash-Secret-3" {
		t.Errorf("dashboard password is not COUNTYSYNC_DASHBOARD_PASSWORD")
	}
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "compose", "countysync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range env {
		if strings.Contains(string(data), v) {
			t.Errorf("deploy/compose/countysync.yaml contains a secret")
		}
	}
}

// checkCompose checks the stack and returns the config each countysync
// service loads.
func checkCompose(t *testing.T, p *types.Project) map[string]*config.Config {
	t.Helper()
	root := repoRoot(t)
	want := []string{"postgis", "seed", "redis", "minio", "minio-init", "worker", "dashboard", "enqueue"}
	have := p.ServiceNames()
	slices.Sort(have)
	wantSorted := slices.Clone(want)
	slices.Sort(wantSorted)
	if !slices.Equal(have, wantSorted) {
		t.Errorf("services %v, want %v", have, wantSorted)
	}

	// Every dependency condition is one the dependency can meet.
	for _, s := range p.Services {
		for dep, d := range s.DependsOn {
			ds := service(t, p, dep)
			switch d.Condition {
			case types.ServiceConditionHealthy:
				if ds.HealthCheck == nil || ds.HealthCheck.Disable || len(ds.HealthCheck.Test) == 0 {
					t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", s.Name, dep, dep)
				}
			case types.ServiceConditionCompletedSuccessfully:
				if ds.Restart != "" && ds.Restart != types.RestartPolicyNo {
					t.Errorf("%s waits for one-shot %s to complete, but %s has restart: %s", s.Name, dep, dep, ds.Restart)
				}
				if ds.GetScale() != 1 {
					t.Errorf("one-shot %s must run once", dep)
				}
			case types.ServiceConditionStarted:
			default:
				t.Errorf("%s depends on %s with condition %q", s.Name, dep, d.Condition)
			}
			if !d.Required {
				t.Errorf("%s: dependency %s should be required", s.Name, dep)
			}
		}
	}
	conditions := map[string]map[string]string{
		"seed":       {"postgis": types.ServiceConditionHealthy},
		"minio-init": {"minio": types.ServiceConditionHealthy},
		"worker": {
			"postgis": types.ServiceConditionHealthy, "redis": types.ServiceConditionHealthy,
			"minio-init": types.ServiceConditionCompletedSuccessfully,
		},
		"dashboard": {"redis": types.ServiceConditionHealthy},
		"enqueue": {
			"seed": types.ServiceConditionCompletedSuccessfully, "minio-init": types.ServiceConditionCompletedSuccessfully,
			"redis": types.ServiceConditionHealthy, "worker": types.ServiceConditionStarted,
		},
	}
	for svc, deps := range conditions {
		s := service(t, p, svc)
		for dep, cond := range deps {
			if got := s.DependsOn[dep].Condition; got != cond {
				t.Errorf("%s depends on %s with condition %q, want %q", svc, dep, got, cond)
			}
		}
	}

	// Backing services.
	pg := service(t, p, "postgis")
	if pg.Image != "postgis/postgis:15-3.4" {
		t.Errorf("postgis image %q", pg.Image)
	}
	if hc := strings.Join(pg.HealthCheck.Test, " "); !strings.Contains(hc, "pg_isready") {
		t.Errorf("postgis healthcheck %q does not use pg_isready", hc)
	}
	rd := service(t, p, "redis")
	if rd.Image != "redis:7" || !slices.Contains(rd.Command, "--appendonly") || rd.Command[slices.Index(rd.Command, "--appendonly")+1] != "yes" {
		t.Errorf("redis: want redis:7 with --appendonly yes, have %s %q", rd.Image, rd.Command)
	}
	if hc := strings.Join(rd.HealthCheck.Test, " "); !strings.Contains(hc, "redis-cli ping") {
		t.Errorf("redis healthcheck %q", hc)
	}
	mn := service(t, p, "minio")
	if !strings.HasPrefix(mn.Image, "minio/minio") || strings.Join(mn.Command, " ") != "server /data --console-address :9001" {
		t.Errorf("minio: %s %q", mn.Image, mn.Command)
	}
	mi := service(t, p, "minio-init")
	if !strings.HasPrefix(mi.Image, "minio/mc") {
		t.Errorf("minio-init image %q", mi.Image)
	}
	for _, k := range []string{"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"} {
		if a, b := mn.Environment[k], mi.Environment[k]; a == nil || b == nil || *a != *b {
			t.Errorf("minio and minio-init disagree on %s", k)
		}
	}

	// The countysync services: the image built from deploy/Dockerfile,
	// command lines that countysync's parser accepts, the mounted config
	// validating with the service's own environment, and every host in it a
	// service of the stack.
	cfgs := map[string]*config.Config{}
	lines := map[string]*commandLine{}
	for _, name := range []string{"worker", "dashboard", "enqueue"} {
		s := service(t, p, name)
		if s.Build == nil || filepath.Clean(filepath.Join(s.Build.Context, s.Build.Dockerfile)) != filepath.Join(root, "deploy", "Dockerfile") {
			t.Errorf("%s: must build deploy/Dockerfile from the repository root", name)
		}
		if len(s.Entrypoint) > 0 {
			t.Errorf("%s: overrides the image's ENTRYPOINT (countysync)", name)
		}
		if s.User != "" && (s.User == "0" || s.User == "root" || strings.HasPrefix(s.User, "0:")) {
			t.Errorf("%s: runs as root", name)
		}
		line, err := parseCommandLine(s.Command)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if line.name() != name {
			t.Errorf("%s: runs countysync %s", name, line.name())
		}
		lines[name] = line
		path, set := line.flag("config")
		if !set {
			t.Errorf("%s: no --config", name)
			continue
		}
		var source string
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind && v.Target == path {
				source = v.Source
				if !v.ReadOnly {
					t.Errorf("%s: mount the config read-only", name)
				}
			}
		}
		if source == "" {
			t.Errorf("%s: --config %s is not a bind-mounted file", name, path)
			continue
		}
		data, err := os.ReadFile(source)
		if err != nil {
			t.Errorf("%s: mounted config: %v", name, err)
			continue
		}
		env := map[string]string{}
		for k, v := range s.Environment {
			if v != nil {
				env[k] = *v
			}
		}
		cfg, err := parseConfig(path, data, env)
		if err != nil {
			t.Errorf("%s: the mounted config does not validate with the service's environment: %v", name, err)
			continue
		}
		cfgs[name] = cfg
		checkComposeHosts(t, p, name, cfg)
		if name != "dashboard" {
			if pw := env["AWS_SECRET_ACCESS_KEY"]; pw == "" || mn.Environment["MINIO_ROOT_PASSWORD"] == nil || pw != *mn.Environment["MINIO_ROOT_PASSWORD"] {
				t.Errorf("%s: AWS_SECRET_ACCESS_KEY is not MinIO's root password", name)
			}
		}
	}
	wcfg := cfgs["worker"]
	if wcfg == nil {
		t.Fatalf("worker has no valid config")
	}

	// Workers: two of them, stopped gently.
	w := service(t, p, "worker")
	if w.GetScale() < 2 {
		t.Errorf("want at least 2 workers, have %d", w.GetScale())
	}
	shutdown := wcfg.Worker.ShutdownTimeout.D()
	if l := lines["worker"]; l != nil {
		if d, set := l.duration(t, "shutdown-timeout"); set {
			shutdown = d
		}
	}
	if w.StopGracePeriod == nil || time.Duration(*w.StopGracePeriod) < shutdown+10*time.Second {
		t.Errorf("worker: stop_grace_period must exceed the worker shutdown timeout %v by at least 10s (Docker's default is 10s)", shutdown)
	}
	for _, pc := range w.Ports {
		if pc.Published != "" {
			t.Errorf("worker publishes port %s: two replicas cannot share a host port", pc.Published)
		}
	}

	// Dashboard: basic auth on a non-loopback address, published on the
	// host's loopback only.
	d := service(t, p, "dashboard")
	if dc := cfgs["dashboard"]; dc != nil {
		listen := dc.Dashboard.Listen
		if v, set := lines["dashboard"].flag("listen"); set {
			listen = v
		}
		port, external := listenAddr(t, "dashboard", listen)
		if !external {
			t.Errorf("dashboard listens on %s: unreachable through a published port", listen)
		}
		for _, k := range []string{"COUNTYSYNC_DASHBOARD_USER", "COUNTYSYNC_DASHBOARD_PASSWORD"} {
			if v := d.Environment[k]; external && (v == nil || *v == "") {
				t.Errorf("dashboard: %s must be set on a non-loopback address", k)
			}
		}
		published := false
		for _, pc := range d.Ports {
			if pc.Target == uint32(port) {
				published = true
				if ip := net.ParseIP(pc.HostIP); ip == nil || !ip.IsLoopback() {
					t.Errorf("dashboard: publish on 127.0.0.1, not %q", pc.HostIP)
				}
			}
		}
		if !published {
			t.Errorf("dashboard: port %d is not published", port)
		}
	}

	// Enqueue: one job, waited for.
	if l := lines["enqueue"]; l != nil {
		if v, _ := l.flag("wait"); v != "true" {
			t.Errorf("enqueue: want --wait so the container's exit status is the job's")
		}
	}

	// minio-init creates the bucket the config writes to.
	su, err := url.Parse(wcfg.Storage.URL)
	if err != nil || su.Scheme != "s3" {
		t.Fatalf("worker storage.url %q is not s3://", wcfg.Storage.URL)
	}
	initCmd := strings.Join(append(slices.Clone([]string(mi.Entrypoint)), mi.Command...), " ")
	if !regexp.MustCompile(`mc mb (--ignore-existing|-p) \S+/` + regexp.QuoteMeta(su.Host) + `(\s|$)`).MatchString(initCmd) {
		t.Errorf("minio-init does not create bucket %q: %s", su.Host, initCmd)
	}

	// The database: the config's user, password and database are the ones
	// postgis is started with, and seed creates every table the datasets read.
	srcURL, err := url.Parse(wcfg.Source.URL)
	if err != nil {
		t.Fatalf("worker source.url: %v", err)
	}
	pw, _ := srcURL.User.Password()
	for k, v := range map[string]string{"POSTGRES_USER": srcURL.User.Username(), "POSTGRES_PASSWORD": pw, "POSTGRES_DB": strings.TrimPrefix(srcURL.Path, "/")} {
		if e := pg.Environment[k]; e == nil || *e != v {
			t.Errorf("postgis %s does not match the config's source.url", k)
		}
	}
	seed := service(t, p, "seed")
	if e := seed.Environment["PGPASSWORD"]; e == nil || *e != pw {
		t.Errorf("seed: PGPASSWORD is not the database password")
	}
	sqlPath := seed.Command[slices.Index(seed.Command, "-f")+1]
	var sqlFile string
	for _, v := range seed.Volumes {
		if v.Type == types.VolumeTypeBind && v.Target == sqlPath {
			sqlFile = v.Source
		}
	}
	sql, err := os.ReadFile(sqlFile)
	if err != nil {
		t.Fatalf("seed: psql -f %s is not a mounted file: %v", sqlPath, err)
	}
	tables := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?i)CREATE TABLE (?:IF NOT EXISTS )?(\w+)`).FindAllStringSubmatch(string(sql), -1) {
		tables[strings.ToLower(m[1])] = true
	}
	if !regexp.MustCompile(`(?i)geometry\((Multi)?Polygon, *4326\)`).Match(sql) {
		t.Errorf("seed.sql: want a polygon geometry column in EPSG:4326")
	}
	for _, ds := range wcfg.Datasets {
		for _, m := range regexp.MustCompile(`(?i)\bFROM\s+(\w+)`).FindAllStringSubmatch(ds.Query, -1) {
			if !tables[strings.ToLower(m[1])] {
				t.Errorf("dataset %s reads table %s, which seed.sql does not create", ds.Name, m[1])
			}
		}
	}
	return cfgs
}

// checkComposeHosts checks that the hosts the config connects to are
// services of the stack that the service waits for.
func checkComposeHosts(t *testing.T, p *types.Project, name string, cfg *config.Config) {
	t.Helper()
	s := service(t, p, name)
	host := func(what, raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Errorf("%s: %s %q: %v", name, what, raw, err)
			return ""
		}
		h := u.Hostname()
		if ep := u.Query().Get("endpoint"); ep != "" {
			h, _, err = net.SplitHostPort(ep)
			if err != nil {
				h = ep
			}
		}
		if _, err := p.GetService(h); err != nil {
			t.Errorf("%s: %s host %q is not a service of the stack", name, what, h)
		}
		return h
	}
	hosts := []string{host("state.url", cfg.State.URL)}
	if name != "dashboard" {
		hosts = append(hosts, host("source.url", cfg.Source.URL), host("storage.url", cfg.Storage.URL))
	}
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if _, ok := s.DependsOn[h]; !ok && !dependsTransitively(p, name, h) {
			t.Errorf("%s: connects to %s but does not wait for it", name, h)
		}
	}
	if port := cfg.Worker.Listen; name == "worker" {
		if _, external := listenAddr(t, "worker.listen", port); !external {
			t.Errorf("worker.listen %s is loopback: unreachable from other containers", port)
		}
	}
}

func dependsTransitively(p *types.Project, from, to string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(s string) bool {
		if seen[s] {
			return false
		}
		seen[s] = true
		svc, err := p.GetService(s)
		if err != nil {
			return false
		}
		for dep := range svc.DependsOn {
			if dep == to || walk(dep) {
				return true
			}
		}
		return false
	}
	return walk(from)
}
