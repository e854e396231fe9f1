// Package testredis starts a redis-server of a test's own.
package testredis

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server of a test's own, on loopback, with no
// persistence.
type Server struct {
	URL  string
	args []string // its command line
	cmd  *exec.Cmd
	logs string // the file the server writes its output to
}

// Start starts a redis-server for t and stops it when t ends; args are
// added to its command line (such as --requirepass PASSWORD). Without
// the binary, the test is skipped with a message, except under CI, which
// must run it.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed, and CI must run the Redis tests: .ci/run installs it with apt-get")
		}
		t.Skip("redis-server is not installed (apt-get install redis-server): skipping this Redis test; CI runs it")
	}
	port := freePort(t)
	dir := t.TempDir()
	s := &Server{URL: "redis://127.0.0.1:" + port + "/0", logs: filepath.Join(dir, "redis.log")}
	s.args = append([]string{bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--dir", dir, "--logfile", s.logs}, args...)
	t.Cleanup(s.Stop)
	s.run(t)
	return s
}

// Restart starts the server again after Stop, on the same port, empty.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.run(t)
}

// run starts the server and waits until it answers.
func (s *Server) run(t testing.TB) {
	t.Helper()
	s.cmd = exec.Command(s.args[0], s.args[1:]...)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := s.Client(t)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := c.Ping(context.Background()).Err(); err == nil || strings.HasPrefix(err.Error(), "NOAUTH") {
			return
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(s.logs)
			t.Fatalf("redis-server did not answer at %s:\n%s", s.URL, out)
		}
	}
}

// Stop kills the server; it may be called more than once.
func (s *Server) Stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// Client returns a client of the server, closed when t ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	opt, err := redis.ParseURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
