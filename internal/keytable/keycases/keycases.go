// Package keycases is the one table of cases of which argument types a
// cache key can hold and which result types the cache can store, by the
// rules of package keytable: the generator refuses the others at generate
// time, by their go/types, and the runtime refuses them at run time, by
// reflection. The tests of both run every case, so that the two cannot
// drift apart. Only tests import it: it links the packages of its cases.
package keycases

import (
	"container/list"
	"math/big"
	"net"
	"net/url"
	"regexp"
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

	// A method promoted from an embedded field does not count: the
	// struct is keyed by its fields, and an unexported one refuses it.
	TimeAndLabel struct {
		time.Time
		Label string
	}
	PromotedOnly struct {
		MarshalsText
		hidden int
	}
	MarshalsBinary struct{ a []float64 }
	BigFloat       = *big.Float
	BigInt         = *big.Int
	Pattern        = *regexp.Regexp
	IP             = net.IP
	URL            = *url.URL
	PointerKeyed   map[*int]int
	TimeKeyed      map[time.Time]int
	Foreign        = *list.List
)

// MarshalBinary makes MarshalsBinary keyable by a digest of its bytes.
func (m MarshalsBinary) MarshalBinary() ([]byte, error) { return []byte{byte(len(m.a))}, nil }

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
	{"TimeAndLabel", TimeAndLabel{time.Unix(0, 0), "x"}, true, ""},
	{"PromotedOnly", PromotedOnly{}, false, "a promoted MarshalText would key the struct by its embedded field alone"},
	{"MarshalsBinary", MarshalsBinary{[]float64{1}}, true, ""},
	{"BigFloat", big.NewFloat(1.5), true, ""},
	{"BigInt", big.NewInt(7), true, ""},
	{"Pattern", regexp.MustCompilePOSIX("a+"), false, "a regexp's text drops whether it is POSIX or leftmost-longest"},
	{"IP", net.IPv4(10, 0, 0, 1), true, ""},
	{"URL", &url.URL{Scheme: "https", Host: "example.com", User: url.UserPassword("u", "p")}, true, ""},
	{"PointerKeyed", PointerKeyed{new(int): 1}, false, "pointer map keys compare by address"},
	{"TimeKeyed", TimeKeyed{time.Unix(0, 0): 1}, false, "time map keys compare by location and monotonic reading"},
	{"Foreign", list.New(), false, "a foreign type with unexported fields needs a declared key"},
}

// A ResultCase is a result type, declared in this package, with a value of
// it, and whether the cache stores it exactly.
type ResultCase struct {
	Type     string
	Value    any
	Storable bool
	Why      string
}

// The result types of the cases.
type (
	ResultInt    int
	ResultFloats []float64
	ResultStruct struct {
		A []float64
		B string
	}
	ResultUnexported struct{ a int }
	ResultBinary     struct{ a []float64 }
	ResultText       struct{ a string }
	ResultTextOnly   struct{ A string }
	ResultGob        struct{ a int }
	ResultGobNested  struct{ G ResultGob }
	ResultPromoted   struct {
		ResultBinary
		B int
	}
	ResultBigInt       = *big.Int
	ResultBigFloat     = *big.Float
	ResultBigFloatIn   struct{ F *big.Float }
	ResultBigRat       = *big.Rat
	ResultBigRatIn     struct{ R *big.Rat }
	ResultPattern      = *regexp.Regexp
	ResultTime         = time.Time
	ResultMapOfBigInts map[string]*big.Int
	ResultBigFloatPP   = **big.Float
	ResultIP           = net.IP
	ResultURL          = *url.URL
	ResultOmitEmpty    struct {
		A []string `cbor:",omitempty"`
	}
	ResultShadowed struct {
		ResultStruct
		B int
	}
	ResultSameTag struct {
		A int `cbor:"k"`
		B int `cbor:"k"`
	}
	ResultPtrToSlice = *[]float64
	ResultAny        = any
	ResultMapAny     map[string]any
	ResultTimeKeys   map[time.Time]int
	ResultTimeValues map[string]time.Time
	// ResultTimeStructKeys is keyed by a struct that holds a time.
	ResultTimeStructKeys map[struct{ At time.Time }]int
)

func (r ResultBinary) MarshalBinary() ([]byte, error) {
	out := make([]byte, 0, 8*len(r.a))
	for _, x := range r.a {
		out = append(out, byte(x))
	}
	return out, nil
}

func (r *ResultBinary) UnmarshalBinary(b []byte) error {
	r.a = make([]float64, len(b))
	for i, x := range b {
		r.a[i] = float64(x)
	}
	return nil
}

func (r ResultText) MarshalText() ([]byte, error)     { return []byte(r.a), nil }
func (r *ResultText) UnmarshalText(b []byte) error    { r.a = string(b); return nil }
func (r ResultTextOnly) MarshalText() ([]byte, error) { return []byte(r.A), nil }
func (r ResultGob) GobEncode() ([]byte, error)        { return []byte{byte(r.a)}, nil }
func (r *ResultGob) GobDecode(b []byte) error         { r.a = int(b[0]); return nil }

// ResultCases are the result cases both checkers run.
var ResultCases = []ResultCase{
	{"ResultInt", ResultInt(3), true, ""},
	{"ResultFloats", ResultFloats{1, 2}, true, ""},
	{"ResultStruct", ResultStruct{[]float64{1}, "b"}, true, ""},
	{"ResultUnexported", ResultUnexported{1}, false, "an unexported field would come back zero"},
	{"ResultBinary", ResultBinary{[]float64{1, 2}}, true, ""},
	{"ResultText", ResultText{"x"}, true, ""},
	{"ResultTextOnly", ResultTextOnly{"x"}, false, "stored as text, it could not be read back"},
	{"ResultGob", ResultGob{5}, true, ""},
	{"ResultGobNested", ResultGobNested{ResultGob{5}}, false, "a gob pair counts only in the result itself"},
	{"ResultPromoted", ResultPromoted{ResultBinary{[]float64{1}}, 2}, false, "a promoted MarshalBinary would store the struct as its embedded field"},
	{"ResultBigInt", big.NewInt(-12345678901234), true, ""},
	{"ResultBigFloat", new(big.Float).SetPrec(200).SetFloat64(1.5), true, ""},
	{"ResultBigFloatIn", ResultBigFloatIn{big.NewFloat(1.5)}, false, "inside another value a big.Float is stored as its lossy text"},
	{"ResultBigRat", big.NewRat(1, 3), true, ""},
	{"ResultBigRatIn", ResultBigRatIn{big.NewRat(1, 3)}, true, ""},
	{"ResultPattern", regexp.MustCompilePOSIX("a+"), false, "a regexp's text drops whether it is POSIX"},
	{"ResultTime", time.Unix(1, 2).UTC(), true, ""},
	{"ResultMapOfBigInts", ResultMapOfBigInts{"a": big.NewInt(1)}, true, ""},
	{"ResultBigFloatPP", ptrTo(new(big.Float).SetPrec(200).SetFloat64(1.5)), false, "behind two pointers a big.Float is stored as its lossy text"},
	{"ResultIP", net.IP{10, 0, 0, 1}, false, "a 4-byte IP comes back in its 16-byte form"},
	{"ResultURL", &url.URL{Host: "h", Path: "rel"}, false, "a URL comes back normalized"},
	{"ResultOmitEmpty", ResultOmitEmpty{A: []string{}}, false, "an empty slice left out comes back nil"},
	{"ResultShadowed", ResultShadowed{ResultStruct{B: "x"}, 2}, false, "the embedded B is shadowed by the outer one"},
	{"ResultSameTag", ResultSameTag{1, 2}, false, "two fields under one name"},
	{"ResultPtrToSlice", ptrTo([]float64(nil)), false, "a pointer to a nil slice comes back nil"},
	{"ResultAny", ResultAny(7), false, "an int in an interface comes back as a uint64"},
	{"ResultMapAny", ResultMapAny{"a": []float64{1}}, false, "a []float64 in an interface comes back as a []interface{}"},
	{"ResultTimeKeys", ResultTimeKeys{time.Date(1850, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", -17762)): 1}, false, "a time's location is stored beside the encoding, which a map key cannot take"},
	{"ResultTimeStructKeys", ResultTimeStructKeys{{time.Unix(1, 0).In(time.FixedZone("CET", 3600))}: 1}, false, "a struct key holding a time is a time key"},
	{"ResultTimeValues", ResultTimeValues{"a": time.Unix(1, 2).UTC()}, true, ""},
}

func ptrTo[T any](v T) *T { return &v }
