package generator

import (
	"os"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/tools/txtar"
)

// refusals are a function for each kind of parameter and result the
// generator refuses, and the words of the documented list that name it.
var refusals = []struct{ decl, readme string }{
	{"func PFunc(f func()) int", "func, chan and `unsafe.Pointer` values, at any depth"},
	{"func PChan(c chan int) int", "func, chan and `unsafe.Pointer` values, at any depth"},
	{"func PUnsafe(p unsafe.Pointer) int", "func, chan and `unsafe.Pointer` values, at any depth"},
	{"func PDeepFunc(fs []map[string]func()) int", "func, chan and `unsafe.Pointer` values, at any depth"},
	{"func PInterface(v fmt.Stringer) int", "interfaces without a declared key"},
	{"func PHidden(v hidden) int", "structs with an unexported field, at any depth"},
	{"func PMapFloat(m map[float64]int) int", "floats (`map[float64]V`)"},
	{"func PMapBool(m map[bool]int) int", "bools"},
	{"func PMapComplex(m map[complex128]int) int", "complex numbers"},
	{"func PMapArray(m map[[2]int]int) int", "arrays"},
	{"func PMapStruct(m map[point]int) int", "structs, interfaces, pointers"},
	{"func PMapInterface(m map[any]int) int", "structs, interfaces, pointers"},
	{"func PMapPointer(m map[*int]int) int", "structs, interfaces, pointers"},
	{"func PMapTime(m map[time.Time]int) int", "`time.Time`"},
	{"func PRegexp(r *regexp.Regexp) int", "`*regexp.Regexp`"},
	{"func RFunc() func()", "func, chan, interface, complex and `unsafe.Pointer` values"},
	{"func RChan() chan int", "func, chan, interface, complex and `unsafe.Pointer` values"},
	{"func RInterface() any", "func, chan, interface, complex and `unsafe.Pointer` values"},
	{"func RComplex() complex128", "func, chan, interface, complex and `unsafe.Pointer` values"},
	{"func RUnsafe() unsafe.Pointer", "func, chan, interface, complex and `unsafe.Pointer` values"},
	{"func RHidden() hidden", "structs with an unexported field or a field tagged `json:\"-\"`"},
	{"func RDashed() dashed", "structs with an unexported field or a field tagged `json:\"-\"`"},
	{"func RTwins() twins", "two fields encoded under one name"},
	{"func ROmit() omits", "`omitempty` on a slice or map field"},
	{"func RPointerSlice() *[]int", "a pointer to a pointer, slice, map or interface"},
	{"func REmbedded() embedsMarshaler", "only through an embedded field"},
	{"func RHalf() halfMarshaler", "without the matching unmarshaler"},
	{"func RGobInside() []gobbed", "a gob pair or a `*big.Float` anywhere but as the only result"},
	{"func RBigFloatInside() []*big.Float", "a gob pair or a `*big.Float` anywhere but as the only result"},
	{"func RIP() net.IP", "`net.IP`, `url.URL` and `*regexp.Regexp` anywhere"},
	{"func RURL() url.URL", "`net.IP`, `url.URL` and `*regexp.Regexp` anywhere"},
	{"func RRegexp() *regexp.Regexp", "`net.IP`, `url.URL` and `*regexp.Regexp` anywhere"},
	{"func RMapKeys() map[any]int", "maps whose keys could not be stored"},
	{"func RNothing() error", "functions with no result but an error"},
}

const refusalTypes = `package sim

import (
	"fmt"
	"math/big"
	"net"
	"net/url"
	"regexp"
	"time"
	"unsafe"
)

var (
	_ fmt.Stringer
	_ big.Float
	_ net.IP
	_ url.URL
	_ regexp.Regexp
	_ time.Time
	_ unsafe.Pointer
)

type hidden struct{ x int }
type point struct{ X, Y int }
type dashed struct {
	A int
	B int ` + "`json:\"-\"`" + `
}
type twins struct {
	A int ` + "`json:\"x\"`" + `
	B int ` + "`json:\"x\"`" + `
}
type omits struct {
	S []int ` + "`json:\",omitempty\"`" + `
}
type marshaler struct{ V int }

func (marshaler) MarshalText() ([]byte, error) { return nil, nil }
func (*marshaler) UnmarshalText([]byte) error  { return nil }

type embedsMarshaler struct {
	marshaler
	W int
}
type halfMarshaler struct{ V int }

func (halfMarshaler) MarshalText() ([]byte, error) { return nil, nil }

type gobbed struct{ V int }

func (gobbed) GobEncode() ([]byte, error) { return nil, nil }
func (*gobbed) GobDecode([]byte) error    { return nil }
`

// The documented list of what the generator refuses (docs/keys.md) is
// complete: each kind of parameter and result refused is named there, and
// each named is refused.
func TestReadmeListsEveryRefusal(t *testing.T) {
	readme, err := os.ReadFile("../docs/keys.md")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(readme), "Refused at generate time, each as")
	end := strings.Index(string(readme), "See [Keys for your types]")
	if start < 0 || end < start {
		t.Fatal("docs/keys.md has no list of what is refused at generate time")
	}
	list := strings.Join(strings.Fields(string(readme[start:end])), " ") // as read, not as wrapped
	var src strings.Builder
	src.WriteString(refusalTypes)
	for _, r := range refusals {
		src.WriteString("\n//cache:version=1\n" + r.decl + " { panic(0) }\n")
	}
	dir := writeModule(t, &txtar.Archive{Files: []txtar.File{{Name: "sim.go", Data: []byte(src.String())}}}, "module example.com/sim\n\ngo 1.26\n")
	msgs := generateErrs(t, Config{Dir: dir})
	for _, r := range refusals {
		name := strings.FieldsFunc(strings.TrimPrefix(r.decl, "func "), func(c rune) bool { return !unicode.IsLetter(c) })[0]
		if !strings.Contains(msgs, " "+name+": ") {
			t.Errorf("%s is not refused", r.decl)
		}
		if !strings.Contains(list, r.readme) {
			t.Errorf("docs/keys.md's list does not name what refuses %s: %q", r.decl, r.readme)
		}
	}
	if t.Failed() {
		t.Logf("the generator said:\n%s", msgs)
	}
}
