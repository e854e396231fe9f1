package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
)

// An app that adds cachectl as a tool, as README says to from a local
// checkout, runs it, and gets no cloud SDK in its go.sum: README's go mod
// tidy, which also keeps the sums of what the tool's packages' tests
// import, is the stricter check.
func TestToolLeavesCloudSDKsOut(t *testing.T) {
	testenv.Slow(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, _ := strings.Cut(string(readme), "point the app at a local checkout:\n\n```sh\n")
	block, _, found := strings.Cut(block, "```")
	if !found {
		t.Fatal("README does not say how to use a local checkout")
	}
	app := t.TempDir()
	testenv.WriteFiles(t, app, map[string]string{
		"go.mod":     "module example.com/app\n\ngo 1.26\n",
		"sim/sim.go": "package sim\n\n//go:generate go tool cachegen\n\n//cache:version=1\nfunc Square(x int) int { return x * x }\n",
	})
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		line = strings.ReplaceAll(line, "=../cachegen", "="+root)
		cmd := exec.Command("bash", "-c", line)
		cmd.Dir = app
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "CACHEGEN_DIR="+filepath.Join(app, "cache"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(app, "sim", "cache_gen.go")); err != nil {
		t.Errorf("go tool cachegen wrote no wrappers: %v", err)
	}
	help := exec.Command("go", "tool", "cachectl", "-h")
	help.Dir = app
	if out, err := help.CombinedOutput(); err != nil || !strings.Contains(string(out), "cachectl-s3") {
		t.Errorf("go tool cachectl -h: %v, and does not say where S3 is:\n%s", err, out)
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

// What a user's module gets in its build list from cachegen: a module
// that imports only the runtime (as every generated wrapper does), and
// one that adds cachegen or cachectl as a tool, list no cloud SDK, gRPC,
// protobuf, OpenTelemetry, the S3 tests' fake or gonum, and no more
// modules than README says (at most 25):
// the S3 and blob stores, the example over gonum and the gonum tests have
// modules of their own, so cachegen moves none of its users' versions of
// them.
func TestBuildListHasNoCloudSDK(t *testing.T) {
	testenv.Slow(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		tools []string
		limit int // as README's table of what each part adds says
	}{
		"runtime only":            {nil, 19},
		"with cachegen as a tool": {[]string{"github.com/cachegen/cachegen/cmd/cachegen"}, 22},
		"with cachectl as a tool": {[]string{"github.com/cachegen/cachegen/cmd/cachectl"}, 25},
	} {
		t.Run(name, func(t *testing.T) {
			app := t.TempDir()
			files := map[string]string{
				"go.mod":     "module example.com/app\n\ngo 1.26\n\nrequire github.com/cachegen/cachegen v0.0.0\n\nreplace github.com/cachegen/cachegen => " + root + "\n",
				"app/app.go": "package app\n\nimport _ \"github.com/cachegen/cachegen/runtime\"\n",
			}
			testenv.WriteFiles(t, app, files)
			run := func(args ...string) string {
				t.Helper()
				cmd := exec.Command("go", args...)
				cmd.Dir = app
				cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return string(out)
			}
			for _, tool := range tc.tools {
				run("mod", "edit", "-tool", tool)
			}
			run("mod", "tidy")
			mods := strings.Fields(run("list", "-m", "-f", "{{.Path}}", "all"))
			t.Logf("%d modules", len(mods)-1)
			if n := len(mods) - 1; n > tc.limit {
				t.Errorf("%d modules in the build list, want at most %d:\n%s", n, tc.limit, strings.Join(mods[1:], "\n"))
			}
			for _, m := range mods {
				for _, heavy := range []string{"aws", "gocloud.dev", "cloud.google.com", "google.golang.org", "opentelemetry", "azure", "gofakes3", "grpc", "gonum"} {
					if strings.Contains(m, heavy) {
						t.Errorf("the build list holds %s", m)
					}
				}
			}
		})
	}
}
