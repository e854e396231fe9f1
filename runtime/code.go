package runtime

import (
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/cachegen/cachegen/internal/fingerprint"
	"github.com/cachegen/cachegen/internal/ran"
)

// Code identity: see the package doc.

// codeBytes returns the stored form of a fingerprint: zero when code is
// not 16 hex digits.
func codeBytes(code string) [8]byte {
	var b [8]byte
	if len(code) == 16 {
		if _, err := hex.Decode(b[:], []byte(code)); err != nil {
			return [8]byte{}
		}
	}
	return b
}

// accepts reports whether call may be served an entry computed by the
// code with fingerprint code.
func (call Call) accepts(code [8]byte) bool {
	if call.Code == "" {
		return true // a hand-made call that says nothing of its code
	}
	if code == [8]byte{} {
		return false // computed by code nobody recorded
	}
	var text [16]byte
	hex.Encode(text[:], code[:])
	if string(text[:]) == call.Code {
		return true
	}
	for _, a := range call.Accepted {
		if string(text[:]) == a {
			return true
		}
	}
	return false
}

// testDir is the directory a test binary started in, and "" in any other
// program: the source of the code under test is found from it, before a
// test can change directory.
var testDir = func() string {
	if !testing.Testing() {
		return ""
	}
	d, _ := os.Getwd()
	return d
}()

// errCodeChanged is wrapped by CheckCode's report of edited code.
var errCodeChanged = fingerprint.ErrChanged

var source struct {
	once    sync.Once
	checker *fingerprint.Checker
	err     error
	seen    sync.Map // Func -> error from CheckCode, checked once per process
}

// CheckCode reports, as an error naming the function and the fix, whether
// the source of call.Func no longer has the parts call.Parts records: code
// of its module that it runs was edited after cachegen generated its
// wrapper, and go generate was not run again. The source is read from
// the go.work or module that holds the working directory, and only the
// packages of the function's own module that hold what it runs: code of
// other modules and of the standard library, which only cachegen can
// digest again, is not compared, nor is a function whose source is not
// at hand (in a module used by version), nor a call whose parts do not
// make its Code. Generated tests call it (see cachegen's
// cache_gen_test.go), and so does Do, once per function, in a test
// binary, where a difference panics: an edit made without go generate
// then fails go test in every package whose tests call the wrapper.
// CheckCode is safe for concurrent use.
func CheckCode(call Call) error {
	_, err := checkCode(call)
	return err
}

// checkCode is CheckCode, also reporting whether it compared anything: a
// function whose source is not at hand is not checked.
func checkCode(call Call) (compared bool, err error) {
	source.once.Do(func() {
		dir := testDir
		if dir == "" {
			dir, _ = os.Getwd()
		}
		source.checker, source.err = fingerprint.NewChecker(dir)
	})
	if source.err != nil {
		return false, nil // no module here
	}
	return source.checker.CheckCall(call.Func, call.Version, call.Code, call.Parts)
}

// sourceChanged is Do's check, once per function: an error wrapping
// errCodeChanged when the source at hand no longer has the fingerprint
// call.Code, else nil (also when there is no source to compare with).
//
// The source at hand may have been edited after the program was built: a
// program built before the edit runs the code of call.Code, and its
// entries are good. What the program was built from is known only when
// it runs: so outside a test binary, a program that once ran while the
// source matched call.Code records that in c (see package internal/ran),
// and is trusted after later edits; one that first runs after an edit computes without the cache,
// as go run and go test after an edit made without go generate do. (A
// program built from such an edit and first run after the edit was undone
// cannot be told from the code it claims; no check of the source at hand
// can: run go generate before building.)
func sourceChanged(c *Cache, call Call) error {
	if call.Code == "" {
		return nil
	}
	v, ok := source.seen.Load(call.Func)
	if !ok {
		compared, err := checkCode(call)
		switch {
		case testDir != "":
		case compared && err == nil:
			if c.mode != ModeOff && c.mode != ModeReadOnly {
				c.ranRecords().Mark(call.Func, call.Code)
			}
		case errors.Is(err, errCodeChanged) && c.mode != ModeOff && c.ranRecords().Ran(call.Func, call.Code):
			err = nil // this program ran this code while its source matched
		}
		if !errors.Is(err, errCodeChanged) {
			err = nil
		}
		v, _ = source.seen.LoadOrStore(call.Func, err)
	}
	err, _ := v.(error)
	return err
}

// ranRecords are the records in c's directory of the code that programs
// ran while its source matched.
func (c *Cache) ranRecords() ran.Records { return ran.Records{Disk: c.disk, SignKey: c.signKey} }

// bypassEdited reports, as Do computes a function whose source changed
// without go generate: a test fails; another program is warned once.
func (c *Cache) bypassEdited(call Call, err error) {
	if testDir != "" {
		panic("cachegen: " + err.Error())
	}
	if _, told := c.warnedSource.LoadOrStore(call.Func, true); !told && c.mode != ModeOff {
		c.log.Warn(err.Error()+"; until then, computing it without the cache", "fn", call.Func, "version", call.Version)
	}
}
