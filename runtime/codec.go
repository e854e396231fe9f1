package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"

	"github.com/cachegen/cachegen/internal/entry"
)

// A Codec stores the results of a call as values of another type: see
// StoreAs. Generated wrappers set Call.Codec for a function whose result
// type has a declared pair of conversions.
type Codec interface {
	// result is the type of the results the codec converts.
	result() reflect.Type
	encode(v any) ([][]byte, error)
	decode(data []byte, alias bool) (any, error)
	typeSum() [8]byte
	blocks() []entry.Block
	// stored is the type the codec stores results as.
	stored() reflect.Type
}

// StoreAs returns a Codec that stores results of type T as values of type
// S: store converts a computed result, and load converts a stored one
// back. It is how a result type that cannot be stored as it is (a type of
// another module with unexported fields) is stored through a pair of
// conversions the user declares (//cache:store and //cache:load). A miss
// returns the computed result itself; a hit returns load of the stored
// value. A panic in store is a failure to store; a panic in load makes
// the entry a miss.
func StoreAs[T, S any](store func(T) S, load func(S) T) Codec {
	return storeAs[T, S]{store, load}
}

type storeAs[T, S any] struct {
	store func(T) S
	load  func(S) T
}

func (c storeAs[T, S]) result() reflect.Type { return reflect.TypeFor[T]() }

func (c storeAs[T, S]) encode(v any) (parts [][]byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			parts, err = nil, fmt.Errorf("converting the result for storing panicked: %v", r)
		}
	}()
	return entry.EncodeResult(c.store(v.(T)))
}

func (c storeAs[T, S]) decode(data []byte, alias bool) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("converting the stored result back panicked: %v", r)
		}
	}()
	s, err := entry.DecodeResult[S](data, alias)
	if err != nil {
		return nil, err
	}
	return c.load(s), nil
}

func (c storeAs[T, S]) typeSum() [8]byte      { return entry.TypeSum(reflect.TypeFor[S]()) }
func (c storeAs[T, S]) stored() reflect.Type  { return reflect.TypeFor[S]() }
func (c storeAs[T, S]) blocks() []entry.Block { return entry.BlocksOf(reflect.TypeFor[S]()) }

// errCodec is wrapped by the error of a Codec for another result type.
var errCodec = errors.New("Call.Codec converts another type")

// codecOf returns the codec of call for results of type T, nil when the
// call has none, and an error when its codec converts another type.
func codecOf[T any](call Call) (Codec, error) {
	if call.Codec == nil {
		return nil, nil
	}
	if t := call.Codec.result(); t != reflect.TypeFor[T]() {
		return nil, fmt.Errorf("%s: %w: results of type %s, not %s", call.Func, errCodec, t, reflect.TypeFor[T]())
	}
	return call.Codec, nil
}

// storeProblem returns why results of type T cannot be stored exactly by
// call (as they are, or as its Codec converts them), or nil; see
// entry.StoreProblem.
func storeProblem[T any](call Call) error {
	if call.Codec != nil && call.Codec.result() == reflect.TypeFor[T]() {
		return entry.StoreProblem(call.Codec.stored())
	}
	return entry.StoreProblem(reflect.TypeFor[T]())
}

// unstorable reports whether results of type T cannot be stored exactly
// by call, saying so once per function (and each time when verbose) and
// counting it: such a call is computed, never looked up nor stored.
func (c *Cache) unstorable(ctx context.Context, call Call, t reflect.Type, err error) {
	c.unstorableResults.Add(1)
	level := slog.LevelDebug
	if _, told := c.warnedKey.LoadOrStore("unstorable "+call.Func, true); !told || c.verbose {
		level = slog.LevelWarn
	}
	c.log.Log(ctx, level, "computing without the cache: its result cannot be stored exactly", "fn", call.Func, "type", t.String(), "err", err)
}

// decodesItself reports whether loading a result runs a decoder of the
// result type's own on the entry's bytes (UnmarshalBinary, GobDecode,
// UnmarshalText…; see entry.ReadsBack), which no bound of the cache's
// covers.
func (r *request[T]) decodesItself() bool {
	t := reflect.TypeFor[T]()
	if r.codec != nil {
		t = r.codec.stored()
	}
	return entry.ReadsBack(t)
}

// readBack reports why an encoded result would not load back, or nil:
// for a result whose encoding runs its own methods (see entry.ReadsBack),
// or goes through a Codec, it decodes the encoding as a hit would.
func (r *request[T]) readBack(payload [][]byte) error {
	t := reflect.TypeFor[T]()
	if r.codec != nil {
		t = r.codec.stored()
	}
	if r.codec == nil && !entry.ReadsBack(t) {
		return nil
	}
	if _, err := r.decodeResult(bytes.Join(payload, nil), false); err != nil {
		return fmt.Errorf("its encoding does not load back: %w", err)
	}
	return nil
}

// encodeResult is the stored form of v.
func (r *request[T]) encodeResult(v T) ([][]byte, error) {
	if r.codec != nil {
		return r.codec.encode(v)
	}
	return entry.EncodeResult(v)
}

// decodeResult decodes a stored result.
func (r *request[T]) decodeResult(data []byte, alias bool) (T, error) {
	if r.codec == nil {
		return entry.DecodeResult[T](data, alias)
	}
	v, err := r.codec.decode(data, alias)
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// blocks describes the numeric blocks of a stored result.
func (r *request[T]) blocks() []entry.Block {
	if r.codec != nil {
		return r.codec.blocks()
	}
	return entry.BlocksOf(reflect.TypeFor[T]())
}
