package redis

import (
	"context"
	"testing"

	cacheruntime "github.com/cachegen/cachegen/runtime"
	goredis "github.com/redis/go-redis/v9"
)

func TestRedissUsesTLS(t *testing.T) {
	r, err := cacheruntime.OpenRemote(context.Background(), "rediss://cachebox:6380/0", cacheruntime.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if c := r.Store().(*redisStore).c.(*goredis.Client); c.Options().TLSConfig == nil {
		t.Error("a rediss:// client without TLS")
	}
}
