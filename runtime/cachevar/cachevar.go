// Package cachevar publishes a cache's counters (cacheruntime.Stats) with
// expvar. Importing it publishes the default cache's as the variable
// "cachegen", which a program serving expvar's handler shows at
// /debug/vars:
//
//	import _ "github.com/cachegen/cachegen/runtime/cachevar"
//
// The counters are read each time the variable is: hits, misses,
// computations, bytes read and written, errors of each kind, and Saved,
// the compute time hits saved, in nanoseconds. The runtime itself links
// neither expvar nor net/http; this package links both.
package cachevar

import (
	"expvar"

	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// Name is the expvar variable that holds the default cache's counters.
const Name = "cachegen"

func init() { Publish(Name, cacheruntime.Default) }

// Publish publishes, as the expvar variable name, the counters of the
// cache that cache returns when they are read. Like expvar.Publish, it
// panics if name is already published.
func Publish(name string, cache func() *cacheruntime.Cache) {
	expvar.Publish(name, expvar.Func(func() any { return cache().Stats() }))
}
