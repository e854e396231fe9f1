// Package remote is the shared tier behind a cachegen cache: a Store that
// machines share (Redis, an object store, a directory many machines
// mount), seen through a Tier that makes it safe to depend on.
//
// A Tier never fails a call and never serves a wrong result: each request
// has a timeout, and a call's requests before it computes take at most
// half of what remained of its context; a breaker stops asking a store
// that fails FailureLimit requests in a row, for Cooldown; no reply makes a
// caller allocate more than MaxEntry plus ReplySlack (the header of an
// entry is read first, and a large signed entry's MAC is checked as it is
// read); and what a Tier returns is checked by the runtime as a disk entry
// is. A miss takes a lease on the key (when the store is a Leaser), so
// that machines sharing the tier compute each missing entry once, and a
// lease that is not renewed expires, so a holder that dies blocks others
// for one lease time at most. Credentials in a URL never appear in logs or
// errors.
//
// Programs give a Tier to runtime.Open with runtime.WithRemote, or name it
// in CACHEGEN_REMOTE. Open opens the stores that are linked: file:///dir
// wherever the runtime is; importing remote/redis (redis://, rediss://), remote/s3 (s3://)
// or remote/blob (mem://, and the schemes of linked gocloud.dev/blob
// drivers), or remote/all for every one of them, registers the others. A
// new backend implements Store (and Leaser, and ReplyLimiter when it reads
// replies of its own framing), calls Register from its init, and is
// checked by remote/storetest.
package remote
