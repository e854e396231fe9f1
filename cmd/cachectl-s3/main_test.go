package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/ctl"
)

// cachectl-s3 opens the stores cachectl leaves out; cachectl refuses them
// with a message that names cachectl-s3 (see the ctl tests).
func TestOpensCloudStores(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := ctl.Run([]string{"-remote", "mem://", "ls"}, &out, &errOut); code != 0 {
		t.Fatalf("cachectl-s3 -remote mem:// ls: exit %d\n%s", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "KEY") {
		t.Errorf("an empty store listed as:\n%s", out.String())
	}
}
