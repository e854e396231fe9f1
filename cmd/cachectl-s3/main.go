// Command cachectl-s3 is cachectl with every remote store linked: Redis,
// S3 buckets (s3://bucket/prefix), and the other stores of package remote
// (mem://, gocloud.dev/blob schemes). It takes the same commands and flags
// (cachectl-s3 -h). cachectl itself links no cloud SDK, so that an app that
// adds it as a tool keeps them out of its go.sum; add this one instead
// when the team's cache is in a bucket.
package main

import (
	"os"

	"github.com/cachegen/cachegen/internal/ctl"
	_ "github.com/cachegen/cachegen/remote/all" // redis://, s3://, mem://
)

func main() {
	os.Exit(ctl.Run(os.Args[1:], os.Stdout, os.Stderr))
}
