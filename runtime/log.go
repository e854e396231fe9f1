package runtime

import (
	"fmt"
	"strconv"
)

// quoteCut quotes s for a message, cut to its first 64 bytes: an argument
// that is not what it should be may be of any length.
func quoteCut(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + fmt.Sprintf("… (%d bytes)", len(s))
}
