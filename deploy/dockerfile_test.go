package deploy

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/countydatasync/countysync/internal/cli"
)

// instruction is one Dockerfile instruction as BuildKit parses it.
type instruction struct {
	cmd   string   // lower case: from, run, copy, user, …
	args  []string // JSON form: the elements; shell form: one string
	flags []string // --from=build, --mount=…
	json  bool
	line  int
}

type stage struct {
	image, name string
	ins         []instruction
}

func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("deploy/Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("deploy/Dockerfile: %s", w.Short)
	}
	var stages []stage
	for _, n := range res.AST.Children {
		in := instruction{cmd: strings.ToLower(n.Value), flags: n.Flags, json: n.Attributes["json"], line: n.StartLine}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		if in.cmd == "from" {
			st := stage{image: in.args[0]}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "as") {
				st.name = in.args[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "arg" {
				t.Fatalf("deploy/Dockerfile:%d: %s before FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	return stages
}

func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func goDirective(t *testing.T) string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("go.mod has no go line")
	return ""
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) != 2 {
		t.Fatalf("want a builder and a runtime stage, have %d stages", len(stages))
	}
	build, run := stages[0], stages[1]

	// Builder: Debian golang of go.mod's Go line (the golang images set
	// GOTOOLCHAIN=local), cgo on, trimmed and stripped ./cmd/countysync.
	goMinor := strings.Join(strings.SplitN(goDirective(t), ".", 3)[:2], ".")
	if !regexp.MustCompile(`^golang:` + regexp.QuoteMeta(goMinor) + `(\.\d+)?-bookworm$`).MatchString(build.image) {
		t.Errorf("builder image %q, want golang:%s-bookworm (go.mod says go %s)", build.image, goMinor, goDirective(t))
	}
	if build.name == "" {
		t.Errorf("name the builder stage (FROM … AS build)")
	}
	var goBuild string
	for _, in := range build.find("run") {
		if s := strings.Join(in.args, " "); strings.Contains(s, "go build") {
			goBuild = s
		}
	}
	for _, want := range []string{"CGO_ENABLED=1", "-trimpath", `-ldflags "-s -w`, "./cmd/countysync", "-o "} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("builder: go build must have %s: %q", want, goBuild)
		}
	}
	out := regexp.MustCompile(`-o\s+(\S+)`).FindStringSubmatch(goBuild)

	// Runtime: Debian slim with CA certificates, non-root, countysync as
	// the entrypoint.
	if run.image != "debian:bookworm-slim" {
		t.Errorf("runtime image %q, want debian:bookworm-slim", run.image)
	}
	apt := ""
	for _, in := range run.find("run") {
		apt += strings.Join(in.args, " ")
	}
	if !regexp.MustCompile(`apt-get install .*ca-certificates`).MatchString(apt) {
		t.Errorf("runtime: install ca-certificates (S3 over TLS)")
	}
	if !strings.Contains(apt, "--uid 10001") {
		t.Errorf("runtime: create the user with uid 10001")
	}
	users := run.find("user")
	if len(users) == 0 {
		t.Fatalf("runtime: no USER: the container would run as root")
	}
	user := users[len(users)-1].args[0]
	uid, _, _ := strings.Cut(user, ":")
	if uid != "10001" {
		t.Errorf("runtime: USER %q, want the numeric uid 10001 (runAsNonRoot needs a number)", user)
	}
	copied := false
	for _, in := range run.find("copy") {
		if slices.Contains(in.flags, "--from="+build.name) && out != nil && in.args[0] == out[1] &&
			(in.args[1] == "/usr/local/bin/countysync" || in.args[1] == "/usr/local/bin/") {
			copied = true
		}
	}
	if !copied {
		t.Errorf("runtime: COPY --from=%s the built binary into /usr/local/bin", build.name)
	}
	ep := run.find("entrypoint")
	if len(ep) != 1 || !ep[0].json || !slices.Equal(ep[0].args, []string{"countysync"}) {
		t.Errorf(`runtime: want ENTRYPOINT ["countysync"] (JSON form, so signals reach countysync)`)
	}
	cmd := run.find("cmd")
	if len(cmd) != 1 || !cmd[0].json || !slices.Equal(cmd[0].args, []string{"--help"}) {
		t.Errorf(`runtime: want CMD ["--help"]`)
	}
}

func TestDockerignore(t *testing.T) {
	root := repoRoot(t)
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	excluded := func(p string) bool {
		ok, err := pm.MatchesOrParentMatches(p)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, p := range []string{".git", "exports", "bin/countysync"} {
		if !excluded(p) {
			t.Errorf(".dockerignore should exclude %s", p)
		}
	}
	// Everything `go build ./cmd/countysync` reads stays in the context.
	needed := []string{"go.mod", "go.sum"}
	for _, dir := range []string{"cmd", "internal", "proto"} {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				rel, _ := filepath.Rel(root, path)
				needed = append(needed, filepath.ToSlash(rel))
			}
			return nil
		})
	}
	if len(needed) < 10 {
		t.Fatalf("found only %d source files", len(needed))
	}
	for _, p := range needed {
		if excluded(p) {
			t.Errorf(".dockerignore excludes %s, which the image build needs", p)
		}
	}
}

func TestRuntimeImageCommand(t *testing.T) {
	// The image's default command, countysync --help, is a valid root
	// command line (it prints the usage). The compose and Kubernetes
	// command lines rely on ENTRYPOINT countysync and start with a
	// subcommand.
	stages := parseDockerfile(t)
	cmd := stages[len(stages)-1].find("cmd")[0].args
	root := cli.NewRoot(io.Discard, io.Discard)
	root.InitDefaultHelpFlag()
	if err := root.ParseFlags(cmd); err != nil {
		t.Fatalf("CMD %q: %v", cmd, err)
	}
	if h, _ := root.Flags().GetBool("help"); !h {
		t.Errorf("CMD %q does not ask for help", cmd)
	}
}
