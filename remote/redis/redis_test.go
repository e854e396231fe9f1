package redis

import (
	"context"
	"testing"

	"github.com/cachegen/cachegen/remote"
	goredis "github.com/redis/go-redis/v9"
)

func TestRedissUsesTLS(t *testing.T) {
	r, err := remote.Open(context.Background(), "rediss://cachebox:6380/0", remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if c := r.Store().(*redisStore).c.(*goredis.Client); c.Options().TLSConfig == nil {
		t.Error("a rediss:// client without TLS")
	}
}
