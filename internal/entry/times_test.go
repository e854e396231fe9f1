package entry

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

type timesValue struct {
	At    time.Time
	Ptr   *time.Time
	List  []time.Time
	ByKey map[string]time.Time
	In    struct{ When []map[int]time.Time }
	Xs    []float64
}

// sameTime reports whether a time came back as a function sees it: the
// same instant, offset, abbreviation and location, and the same wall
// clock six months on (which a location of another name, or a fixed
// offset in place of a zone, would change).
func sameTime(got, want time.Time) error {
	gn, goff := got.Zone()
	wn, woff := want.Zone()
	switch {
	case !got.Equal(want):
		return fmt.Errorf("instant %v, want %v", got, want)
	case gn != wn || goff != woff:
		return fmt.Errorf("zone %s %+d, want %s %+d", gn, goff, wn, woff)
	case got.Location().String() != want.Location().String():
		return fmt.Errorf("location %q, want %q", got.Location(), want.Location())
	case got.AddDate(0, 6, 0).String() != want.AddDate(0, 6, 0).String():
		return fmt.Errorf("six months on %v, want %v", got.AddDate(0, 6, 0), want.AddDate(0, 6, 0))
	case got.Location() == time.Local != (want.Location() == time.Local), got.Location() == time.UTC != (want.Location() == time.UTC):
		return fmt.Errorf("location %p, want %p", got.Location(), want.Location())
	}
	return nil
}

// TestTimesRoundTripProperty stores random times, in every kind of
// location, at every depth of a result, and checks each comes back as a
// function sees it: the instant to the nanosecond, the offset to the
// second, the location by its name.
func TestTimesRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var locs []*time.Location
	for _, name := range []string{"America/New_York", "Europe/Paris", "Asia/Kolkata", "Australia/Lord_Howe", "Africa/Monrovia"} {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		locs = append(locs, l)
	}
	randTime := func() time.Time {
		sec := r.Int64N(300*365*86400) - 150*365*86400 // 1820 to 2120
		t := time.Unix(sec, r.Int64N(1e9))
		switch r.IntN(5) {
		case 0:
			return t.UTC()
		case 1:
			return t.Local()
		case 2:
			return t.In(time.FixedZone(fmt.Sprintf("Z%d", r.IntN(100)), r.IntN(2*50400)-50400))
		case 3:
			return t.In(time.FixedZone("", r.IntN(2*50400)-50400))
		}
		return t.In(locs[r.IntN(len(locs))])
	}
	for range 300 {
		p := randTime()
		v := timesValue{At: randTime(), Ptr: &p, ByKey: map[string]time.Time{}, Xs: []float64{1}}
		for i := range r.IntN(4) {
			v.List = append(v.List, randTime())
			v.ByKey[fmt.Sprint(i)] = randTime()
			v.In.When = append(v.In.When, map[int]time.Time{i: randTime(), i + 1: randTime()})
		}
		parts, err := EncodeResult(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeResult[timesValue](bytes.Join(parts, nil), false)
		if err != nil {
			t.Fatal(err)
		}
		check := func(where string, g, w time.Time) {
			if err := sameTime(g, w); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
		}
		check("At", got.At, v.At)
		check("Ptr", *got.Ptr, *v.Ptr)
		if len(got.List) != len(v.List) || len(got.ByKey) != len(v.ByKey) || len(got.In.When) != len(v.In.When) {
			t.Fatalf("got %d, %d, %d times, want %d, %d, %d", len(got.List), len(got.ByKey), len(got.In.When), len(v.List), len(v.ByKey), len(v.In.When))
		}
		for i := range v.List {
			check("List", got.List[i], v.List[i])
		}
		for k := range v.ByKey {
			check("ByKey["+k+"]", got.ByKey[k], v.ByKey[k])
		}
		for i, m := range v.In.When {
			for k := range m {
				check("In.When", got.In.When[i][k], m[k])
			}
		}
	}
}

// A fixed zone named like a zone comes back as the fixed zone, not as
// the zone of that name; a time in a location that is neither a fixed
// zone nor loaded by its name cannot be stored, and its encoding says so.
func TestTimeLocationsByWhatTheyAre(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 15, 12, 0, 0, 0, paris)
	fake := at.In(time.FixedZone("Europe/Paris", 3600))
	parts, err := EncodeResult(fake)
	if err != nil {
		t.Fatalf("a fixed zone named like a zone: %v", err)
	}
	got, err := DecodeResult[time.Time](bytes.Join(parts, nil), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameTime(got, fake); err != nil {
		t.Fatalf("a fixed zone named like a zone: %v", err)
	}
	data, err := os.ReadFile("/usr/share/zoneinfo/Europe/Paris")
	if err != nil {
		t.Skip("no zoneinfo file to make a location of another name:", err)
	}
	custom, err := time.LoadLocationFromTZData("Custom/Paris", data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EncodeResult(at.In(custom)); err == nil || !strings.Contains(err.Error(), `location "Custom/Paris"`) {
		t.Fatalf("a location that cannot be loaded by its name: %v", err)
	}
}
