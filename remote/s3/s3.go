// Package s3 keeps a cachegen cache's shared tier in an S3 bucket, or one
// of an S3-compatible server. Importing it registers s3:// URLs with the
// runtime:
//
//	import _ "github.com/cachegen/cachegen/remote/s3"
//
// URLs: s3://bucket/prefix?region=eu-west-1[&endpoint=http://host:9000&use_path_style=true],
// with credentials from the usual AWS environment variables or profile;
// the path is a key prefix. It links the AWS SDK: a program that shares
// through Redis alone imports remote/redis instead.
package s3

import (
	"github.com/cachegen/cachegen/remote"
	"github.com/cachegen/cachegen/remote/blob"
	_ "gocloud.dev/blob/s3blob" // s3://
)

func init() { remote.Register("s3", blob.Open) }
