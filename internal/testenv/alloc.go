package testenv

import goruntime "runtime"

// AllocatedBy returns the bytes f allocates.
func AllocatedBy(f func()) uint64 {
	var before, after goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	f()
	goruntime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
