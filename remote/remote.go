// Package remote provides the shared tiers of a cachegen cache: Redis,
// and object storage through gocloud.dev/blob (S3 and S3-compatible
// servers, memory, and any other bucket a gocloud driver is linked for,
// such as gs:// or azblob://).
//
// Importing it registers its URL schemes with the runtime, so that
// CACHEGEN_REMOTE and runtime.OpenRemote can open them:
//
//	import _ "github.com/cachegen/cachegen/remote"
//
// URLs:
//
//	redis://[user:password@]host:6379/0[?prefix=cachegen:]   (rediss:// for TLS)
//	s3://bucket/prefix?region=eu-west-1[&endpoint=http://host:9000&use_path_style=true]
//	mem://
//
// file:///shared/dir, a directory that many machines share, is built into
// the runtime (runtime.DirStore).
//
// Both kinds of store lease keys (runtime.Leaser), so that machines
// sharing one compute each missing entry once.
package remote

import (
	"context"
	"net/url"

	cacheruntime "github.com/cachegen/cachegen/runtime"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/memblob" // mem://
	_ "gocloud.dev/blob/s3blob"  // s3://
)

func init() {
	cacheruntime.RegisterStore("redis", openRedis)
	cacheruntime.RegisterStore("rediss", openRedis)
	cacheruntime.RegisterStore("", openBucket)
}

// openBucket opens any URL gocloud.dev/blob has a driver for. For buckets
// named by the URL's host (s3://bucket/a/b), the path is a key prefix.
func openBucket(ctx context.Context, u *url.URL) (cacheruntime.Store, error) {
	c := *u
	if c.Host != "" && len(c.Path) > 1 {
		q := c.Query()
		q.Set("prefix", c.Path[1:]+"/")
		c.RawQuery, c.Path = q.Encode(), ""
	}
	b, err := blob.OpenBucket(ctx, c.String())
	if err != nil {
		return nil, err
	}
	return NewBucket(b), nil
}
