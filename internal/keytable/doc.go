// Package keytable holds the rules of which argument types a cache key
// can hold, how known types are spelled, and which result types the cache
// can store: the rules the runtime keys and stores by (through
// reflection) and the generator checks by (through go/types). The cases
// both test suites run are in package keycases.
package keytable
