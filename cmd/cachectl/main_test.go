package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
)

// An app that adds cachectl as a tool gets no cloud SDK in its go.sum:
// go mod tidy, which also keeps the sums of what the tool's packages' tests
// import, is the stricter check.
func TestToolLeavesCloudSDKsOut(t *testing.T) {
	testenv.Slow(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	app := t.TempDir()
	gomod := "module example.com/app\n\ngo 1.26\n\n" +
		"require github.com/cachegen/cachegen v0.0.0-00010101000000-000000000000\n\n" +
		"replace github.com/cachegen/cachegen => " + root + "\n\n" +
		"tool github.com/cachegen/cachegen/cmd/cachectl\n"
	if err := os.WriteFile(filepath.Join(app, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = app
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	goCmd("mod", "tidy")
	if out := goCmd("tool", "cachectl", "-h"); !strings.Contains(out, "cachectl-s3") {
		t.Errorf("the tool's help does not say where S3 is:\n%s", out)
	}
	sum, err := os.ReadFile(filepath.Join(app, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sum), "github.com/redis/go-redis/v9") {
		t.Fatalf("go.sum lacks the Redis client the tool links:\n%s", sum)
	}
	for _, line := range strings.Split(string(sum), "\n") {
		for _, cloud := range []string{"aws", "gocloud.dev", "cloud.google.com", "google.golang.org", "azure", "opentelemetry"} {
			if strings.Contains(line, cloud) {
				t.Errorf("go.sum holds a cloud SDK: %s", line)
			}
		}
	}
}
