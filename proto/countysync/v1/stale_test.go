package countysyncv1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// versionLine matches the generator version comments, which differ between
// machines without changing the code.
var versionLine = regexp.MustCompile(`(?m)^// \s*(protoc|protoc-gen-go)\s+v.*$`)

// TestGeneratedCodeIsCurrent regenerates tasks.pb.go from tasks.proto and
// fails if the committed file differs: run `make proto` after editing the
// .proto file.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("protoc is missing (Debian package protobuf-compiler; make test installs it)")
		}
		t.Skip("protoc is missing; install protobuf-compiler")
	}
	tmp := t.TempDir()
	gen := exec.Command("go", "build", "-o", filepath.Join(tmp, "protoc-gen-go"), "google.golang.org/protobuf/cmd/protoc-gen-go")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("build protoc-gen-go: %v\n%s", err, out)
	}
	root, _ := filepath.Abs("../../..")
	cmd := exec.Command("protoc", "--plugin=protoc-gen-go="+filepath.Join(tmp, "protoc-gen-go"),
		"--go_out="+tmp, "--go_opt=paths=source_relative", "-I", root, "proto/countysync/v1/tasks.proto")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, out)
	}
	fresh, err := os.ReadFile(filepath.Join(tmp, "proto/countysync/v1/tasks.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("tasks.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(versionLine.ReplaceAll(fresh, nil), versionLine.ReplaceAll(committed, nil)) {
		t.Fatal("tasks.pb.go is stale: run `make proto` and commit the result")
	}
}
