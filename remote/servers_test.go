package remote

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server of a test's own, on loopback, with no
// persistence.
type redisServer struct {
	URL  string
	cmd  *exec.Cmd
	logs bytes.Buffer
}

// startRedis starts a redis-server for t and stops it when t ends. Without
// the binary, the test is skipped with a message, except under CI, which
// must run it.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed, and CI must run the Redis tests: .ci/run installs it with apt-get")
		}
		t.Skip("redis-server is not installed (apt-get install redis-server): skipping this Redis test; CI runs it")
	}
	port := freePort(t)
	s := &redisServer{URL: "redis://127.0.0.1:" + port + "/0"}
	s.cmd = exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--dir", t.TempDir())
	s.cmd.Stdout, s.cmd.Stderr = &s.logs, &s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	c := s.Client(t)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c.Ping(context.Background()).Err() == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not answer on port %s:\n%s", port, s.logs.String())
		}
	}
}

// Stop kills the server; it may be called more than once.
func (s *redisServer) Stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// Client returns a client of the server, closed when t ends.
func (s *redisServer) Client(t *testing.T) *redis.Client {
	opt, err := redis.ParseURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// startS3 serves the S3 protocol on loopback from memory, with an empty
// bucket, and returns the s3:// URL of prefix in it. Requests go through
// the AWS SDK, signed with made-up credentials.
func startS3(t *testing.T, bucket, prefix string) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "cachegen-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "cachegen-test-secret")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	return "s3://" + bucket + "/" + prefix + "?region=us-east-1&use_path_style=true&endpoint=" + srv.URL
}
