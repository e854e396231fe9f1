package generator

import (
	"go/token"
	"go/types"
	"slices"
	"time"

	"github.com/cachegen/cachegen/internal/fingerprint"
)

// cachedFunc is the model of one annotated function: everything emission needs,
// and nothing it must look up again.
type cachedFunc struct {
	Name           string             // the function's name
	Obj            *types.Func        // the function's object
	Record         fingerprint.Record // its version and a digest of the code it runs
	Pos            token.Position     // where it is declared
	Directive      directive          // its //cache: directive
	Recv           *param             // the receiver of a method, else nil
	RecvPtr        bool               // whether the receiver is a pointer
	RecvType       *types.Named       // the receiver's named type
	TypeParams     []*types.TypeParam // the function's own
	RecvTypeParams []*types.TypeParam // the receiver type's, for a method of a generic type
	Params         []param            // in order, including a leading context.Context
	Variadic       bool               // whether the last parameter is variadic
	Ctx            bool               // whether Params[0] is a context.Context
	Results        []types.Type       // without a trailing error
	Err            bool               // whether the last result is error
	With           []withValue        // package-level values joined to the key
	Store, Load    *declFunc          // the declared conversions its result is stored through, or nil
	Uses           []string           // the declared functions it uses, qualified, for its fingerprint
}

// use records that f uses the declared function d.
func (f *cachedFunc) use(d *declFunc) {
	if q := d.qualified(); !slices.Contains(f.Uses, q) {
		f.Uses = append(f.Uses, q)
		slices.Sort(f.Uses)
	}
}

// param is one parameter (or receiver) of an annotated function.
type param struct {
	Name  string     // the name used in the generated code
	Type  types.Type // for a variadic parameter, its slice type
	Keyed bool       // whether it is part of the key
	Files fileKeying // whether, and how, it is keyed as paths to data
	Key   *declFunc  // its declared key, or nil
	Pos   token.Pos  // its name's position in the source
}

// fileKeying is how a parameter named in files= is keyed by content.
type fileKeying int

const (
	notFiles fileKeying = iota
	asFile              // a string: keyed as cacheruntime.File(p)
	asFiles             // a []string: keyed as cacheruntime.Files(p)
	asIs                // already a File or Dir (or a slice of them)
)

// withValue is a package-level constant or variable joined to every key.
type withValue struct {
	Name string
	Type types.Type
	Key  *declFunc // its declared key, or nil
}

// directive is a parsed //cache:version=N line.
type directive struct {
	Version int
	Ignore  []string
	With    []string
	Files   []string
	TTL     time.Duration
	Map     bool // mmap: a hit may map a large result's entry (runtime.Call.Map)
	Pos     token.Position
}
