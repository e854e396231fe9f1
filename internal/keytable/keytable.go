// Package keytable is the one table of which argument types a cache key
// can hold: the generator refuses the others at generate time, by their
// go/types, and the runtime refuses them at run time, by reflection. The
// tests of both run every case, so that the two rules cannot drift apart.
package keytable

import (
	"time"
	"unsafe"
)

// A Case is a type, declared in this package, with a value of it.
type Case struct {
	Type    string // the name of a type declared below
	Value   any    // a value of Type
	Keyable bool   // whether a key can hold it soundly
	// Why says, for a type that cannot be keyed, what would go wrong.
	Why string
}

// The types of the cases.
type (
	Int      int
	Float    float64
	Text     string
	Flag     bool
	Complex  complex128
	Bytes    []byte
	Floats   []float64
	Array    [3]int32
	Time     = time.Time
	OwnTime  time.Time
	Duration time.Duration

	Exported       struct{ A, B int }
	Unexported     struct{ a int }
	HiddenDeep     struct{ In Unexported }
	BlankField     struct{ _, A int }
	Embedded       struct{ Exported }
	PointerTo      *Exported
	PointerToBad   *Unexported
	SliceOfBad     []Unexported
	MarshalsText   struct{ a int }
	StringKeyed    map[string]Exported
	IntKeyed       map[int]float64
	FloatKeyed     map[float64]int
	StructKeyed    map[Exported]int
	TextKeyed      map[MarshalsText]int
	WithFunc       struct{ F func() }
	WithChan       struct{ C chan int }
	WithUnsafe     struct{ P unsafe.Pointer }
	WithInterface  struct{ V any }
	NestedInSlices [][]map[string]Exported
)

// MarshalText makes MarshalsText keyable by its text, unexported field
// and all.
func (m MarshalsText) MarshalText() ([]byte, error) { return []byte{byte(m.a)}, nil }

// Cases are the cases both checkers run.
var Cases = []Case{
	{"Int", Int(1), true, ""},
	{"Float", Float(0.5), true, ""},
	{"Text", Text("x"), true, ""},
	{"Flag", Flag(true), true, ""},
	{"Complex", Complex(1 + 2i), true, ""},
	{"Bytes", Bytes{1, 2}, true, ""},
	{"Floats", Floats{1, 2}, true, ""},
	{"Array", Array{1, 2, 3}, true, ""},
	{"Time", time.Unix(0, 0), true, ""},
	{"OwnTime", OwnTime(time.Unix(0, 0)), false, "a type defined over time.Time loses its methods, and its fields are unexported"},
	{"Duration", Duration(time.Second), true, ""},
	{"Exported", Exported{1, 2}, true, ""},
	{"Unexported", Unexported{1}, false, "an unexported field drops out of the key"},
	{"HiddenDeep", HiddenDeep{}, false, "an unexported field at any depth drops out of the key"},
	{"BlankField", BlankField{A: 1}, true, ""},
	{"Embedded", Embedded{Exported{1, 2}}, true, ""},
	{"PointerTo", PointerTo(&Exported{1, 2}), true, ""},
	{"PointerToBad", PointerToBad(&Unexported{1}), false, "an unexported field behind a pointer drops out of the key"},
	{"SliceOfBad", SliceOfBad{{1}}, false, "an unexported field in an element drops out of the key"},
	{"MarshalsText", MarshalsText{1}, true, ""},
	{"StringKeyed", StringKeyed{"a": {1, 2}}, true, ""},
	{"IntKeyed", IntKeyed{1: 0.5}, true, ""},
	{"FloatKeyed", FloatKeyed{0.5: 1}, false, "float map keys have no sound order and spelling"},
	{"StructKeyed", StructKeyed{{1, 2}: 1}, false, "struct map keys have no spelling"},
	{"TextKeyed", TextKeyed{{1}: 1}, true, ""},
	{"WithFunc", WithFunc{F: func() {}}, false, "a func has no value to hash"},
	{"WithChan", WithChan{C: make(chan int)}, false, "a channel has no value to hash"},
	{"WithUnsafe", WithUnsafe{}, false, "unsafe.Pointer has no value to hash"},
	{"WithInterface", WithInterface{V: 1}, true, ""},
	{"NestedInSlices", NestedInSlices{{{"a": {1, 2}}}}, true, ""},
}
