// Package all links every shared tier of a cachegen cache into a program:
// Redis, S3 and other buckets of gocloud.dev/blob, and memory. Importing
// it registers their URL schemes, so that CACHEGEN_REMOTE and remote.Open
// can open them:
//
//	import _ "github.com/cachegen/cachegen/remote/all"
//
// A program that needs one store imports its package instead, and links
// nothing else: remote/redis (redis://, rediss://), remote/s3 (s3://, which
// links the AWS SDK), or remote/blob (mem://, and any scheme a linked
// gocloud.dev/blob driver opens, such as gs:// or azblob://). The
// file:///shared/dir store, remote/file, comes with the runtime, and with
// this package too.
//
// Every store leases keys (remote.Leaser), so that machines sharing one
// compute each missing entry once.
package all

import (
	_ "github.com/cachegen/cachegen/remote/blob"  // mem://, and gocloud.dev/blob schemes
	_ "github.com/cachegen/cachegen/remote/file"  // file://
	_ "github.com/cachegen/cachegen/remote/redis" // redis://, rediss://
	_ "github.com/cachegen/cachegen/remote/s3"    // s3://
)
