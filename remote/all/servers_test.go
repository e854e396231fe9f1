package all_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// startS3 serves the S3 protocol on loopback from memory, with an empty
// bucket, and returns the s3:// URL of prefix in it. Requests go through
// the AWS SDK, signed with made-up credentials.
func startS3(t *testing.T, bucket, prefix string) string {
	return startS3Through(t, bucket, prefix, nil)
}

// startS3Through is startS3 with the server's handler wrapped by wrap, to
// make it misbehave.
func startS3Through(t *testing.T, bucket, prefix string, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	h := gofakes3.New(backend).Server()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "cachegen-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "cachegen-test-secret")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	return "s3://" + bucket + "/" + prefix + "?region=us-east-1&use_path_style=true&endpoint=" + srv.URL
}
