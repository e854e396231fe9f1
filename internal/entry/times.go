package entry

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"
)

// A result's times are stored exactly beside its CBOR, which spells a time
// as RFC 3339 text (an offset to the minute, no location): each time the
// result holds, in the order timesIn visits them, as its instant to the
// nanosecond, its offset to the second, and its location as what a
// function can observe of it:
//
//   - UTC and Local as themselves (a Local time loads in the loading
//     process's Local);
//   - a location loaded by name (an IANA zone, time.LoadLocation) by its
//     name, loaded again by name when the result is loaded: a load where
//     that name cannot be loaded, or gives the stored instant another
//     offset (other zone data), is a miss;
//   - a fixed zone (time.FixedZone) by its name and offset.
//
// A time in any other location (one made by LoadLocationFromTZData under
// a name that is not its zone's) cannot be stored: the result is computed
// every time. Monotonic clock readings are dropped, as time.Time's own
// encodings drop them.

// storedTime is one time as a result stores it.
type storedTime struct {
	Sec  int64  `cbor:"1,keyasint"`
	Nsec int64  `cbor:"2,keyasint"`
	Off  int64  `cbor:"3,keyasint"` // seconds east of UTC
	Loc  uint8  `cbor:"4,keyasint"` // locUTC, locLocal, locNamed or locFixed
	Name string `cbor:"5,keyasint,omitempty"`
}

const (
	locUTC = iota
	locLocal
	locNamed
	locFixed
)

// ErrLocation rejects an entry holding a time whose location cannot be
// loaded here as it was stored: a miss, but not a sign of damage.
var ErrLocation = fmt.Errorf("%w: a time's location cannot be loaded here as it was stored", ErrCorrupt)

// storeTime returns the stored form of t.
func storeTime(t time.Time) (storedTime, error) {
	_, off := t.Zone()
	s := storedTime{Sec: t.Unix(), Nsec: int64(t.Nanosecond()), Off: int64(off)}
	loc := t.Location()
	switch {
	case loc == time.UTC:
		s.Loc = locUTC
	case loc == time.Local:
		s.Loc = locLocal
	default:
		name := loc.String()
		if named, err := time.LoadLocation(name); err == nil && sameZone(named, loc, t) {
			s.Loc, s.Name = locNamed, name
		} else if abbrev, _ := t.Zone(); abbrev == name && sameZone(time.FixedZone(name, off), loc, t) {
			s.Loc, s.Name = locFixed, name
		} else {
			return s, fmt.Errorf("a time in location %q, which is neither a fixed zone nor loaded by its name, cannot be stored exactly", name)
		}
	}
	return s, nil
}

// sameZone reports whether locations a and b give the same names and
// offsets around t and across the years: a is what b would load as.
func sameZone(a, b *time.Location, t time.Time) bool {
	for _, d := range []time.Duration{0, 24 * time.Hour, 91 * 24 * time.Hour, 182 * 24 * time.Hour, 273 * 24 * time.Hour} {
		for _, at := range []time.Time{t.Add(d), t.Add(-d), time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC).Add(d),
			time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Add(d), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(d), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(d)} {
			na, oa := at.In(a).Zone()
			nb, ob := at.In(b).Zone()
			if na != nb || oa != ob {
				return false
			}
		}
	}
	return true
}

// loadTime returns the time s stores.
func loadTime(s storedTime) (time.Time, error) {
	t := time.Unix(s.Sec, s.Nsec)
	switch s.Loc {
	case locUTC:
		t = t.UTC()
	case locLocal:
		t = t.Local()
	case locNamed:
		loc, err := time.LoadLocation(s.Name)
		if err != nil {
			return t, fmt.Errorf("%w: %v", ErrLocation, err)
		}
		t = t.In(loc)
	case locFixed:
		t = t.In(time.FixedZone(s.Name, int(s.Off)))
	default:
		return t, ErrPayload
	}
	if _, off := t.Zone(); int64(off) != s.Off && s.Loc != locLocal {
		return t, fmt.Errorf("%w: %s gives the instant the offset %d, not %d", ErrLocation, s.Name, off, s.Off)
	}
	return t, nil
}

// HoldsTimes reports whether values of t hold times that their encoding
// (the CBOR of their fields) spells: times stored beside it.
func HoldsTimes(t reflect.Type) bool {
	if b, ok := holdsTimes.Load(t); ok {
		return b.(bool)
	}
	var walk func(t reflect.Type, seen map[reflect.Type]bool) bool
	walk = func(t reflect.Type, seen map[reflect.Type]bool) bool {
		if t == timeType || t.Kind() == reflect.Pointer && t.Elem() == timeType {
			return true
		}
		if seen[t] || customEncoding(t) {
			return false
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			return walk(t.Elem(), seen)
		case reflect.Map:
			return walk(t.Key(), seen) || walk(t.Elem(), seen)
		case reflect.Struct:
			for i := range t.NumField() {
				if f := t.Field(i); f.IsExported() && walk(f.Type, seen) {
					return true
				}
			}
		}
		return false
	}
	b := walk(t, map[reflect.Type]bool{})
	holdsTimes.Store(t, b)
	return b
}

var holdsTimes sync.Map // reflect.Type -> bool

// timesIn visits, in an order that depends on the value alone, every time
// v holds: struct fields in order, elements by index, a map's entries by
// the encoding of their keys, pointers followed. visit is given each time
// in turn; with set, the time it returns is put in its place (v must then
// be addressable), and without, v is only read.
func timesIn(v reflect.Value, set bool, visit func(time.Time) (time.Time, error)) error {
	t := v.Type()
	if t == timeType {
		nt, err := visit(v.Interface().(time.Time))
		if err == nil && set {
			v.Set(reflect.ValueOf(nt))
		}
		return err
	}
	if !HoldsTimes(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return timesIn(v.Elem(), set, visit)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := timesIn(v.Index(i), set, visit); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				if err := timesIn(v.Field(i), set, visit); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		type kv struct {
			enc []byte
			key reflect.Value
		}
		var keys []kv
		iter := v.MapRange()
		for iter.Next() {
			enc, err := EncMode.Marshal(iter.Key().Interface())
			if err != nil {
				return err
			}
			keys = append(keys, kv{enc, iter.Key()})
		}
		slices.SortFunc(keys, func(a, b kv) int { return bytes.Compare(a.enc, b.enc) })
		for _, k := range keys {
			e := reflect.New(t.Elem()).Elem()
			e.Set(v.MapIndex(k.key))
			if err := timesIn(e, set, visit); err != nil {
				return err
			}
			if set {
				v.SetMapIndex(k.key, e)
			}
		}
	}
	return nil
}

// storeTimes returns the stored forms of the times v holds.
func storeTimes(v reflect.Value) ([]storedTime, error) {
	var out []storedTime
	err := timesIn(v, false, func(t time.Time) (time.Time, error) {
		s, err := storeTime(t)
		out = append(out, s)
		return t, err
	})
	return out, err
}

// loadTimes puts the stored times back in v, which holds what the CBOR
// spelled of them.
func loadTimes(v reflect.Value, stored []storedTime) error {
	i := 0
	err := timesIn(v, true, func(time.Time) (time.Time, error) {
		if i >= len(stored) {
			return time.Time{}, errTimes
		}
		t, err := loadTime(stored[i])
		i++
		return t, err
	})
	if err == nil && i != len(stored) {
		err = errTimes
	}
	return err
}

var errTimes = errors.New("the stored times do not match the result")
