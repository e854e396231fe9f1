package keytable

// The rules that the runtime's keyer and the generator's checker share.
// The runtime applies them to reflect.Types, the generator to go/types;
// both look known types up here by their package path and name, and both
// test suites run Cases against them.
//
// Which methods count: a method counts only when the type declares it
// itself (on T or *T), never when it is promoted from an embedded field.
// A promoted MarshalText would otherwise stand for the whole struct:
// struct{ time.Time; Label string } would be keyed by its time alone.
//
// In what order: a type is keyed by its Known rule if it has one, else by
// a digest of the bytes of its own MarshalBinary (made to be read back),
// else by the text of its own MarshalText (made to be read by people),
// else by its kind (a struct by its exported fields). A key made by a
// type's own method is as sound as what the method writes: one that
// leaves out a field the function uses gives two arguments one key.
// A result is stored by its Known rule, else through its own pair of
// MarshalBinary and UnmarshalBinary, GobEncode and GobDecode (only as a
// result of its own, not inside another), or MarshalText and
// UnmarshalText, else by its kind.

// A Rule is how a known type is keyed, where its own methods would lose
// information a function can see, or cost more than its bytes.
type Rule int

const (
	// RuleTime: the instant to the nanosecond, the offset to the second, and
	// the identity of the location (its name and every offset,
	// abbreviation and transition it has).
	RuleTime Rule = iota + 1
	// RuleBigFloat: the exact value with its precision, rounding mode and
	// accuracy. Its text keeps the value only.
	RuleBigFloat
	// RuleBytes: its bytes, as a []byte. net.IP's text spells the 4-byte and
	// the 16-byte form of an IPv4 address alike.
	RuleBytes
	// RuleFields: its exported fields, as a struct without methods. url.URL's
	// MarshalBinary is its String, which conflates a Path and a RawPath.
	RuleFields
	// RuleUserinfo: its user name, and its password when set.
	RuleUserinfo
	// RuleMatrix: its dimensions and elements in row order, read in place
	// (RawMatrix), so that a view keys like a copy of its content and
	// keying costs what hashing the elements does.
	RuleMatrix
	// RuleVector: its length and elements in order, read in place (RawVector).
	RuleVector
	// RuleRefused: no spelling a function cannot see past; Known says why.
	RuleRefused
)

// A KnownType is the rule for one type.
type KnownType struct {
	Rule Rule
	// Why says, for a refused type, what its methods lose and what to
	// pass instead.
	Why string
	// ResultWhy says why the type cannot be stored inside another result,
	// if it cannot: its text loses information, so it is stored exactly
	// only through its gob pair, as a function's only result.
	ResultWhy string
}

// Known holds the rules of known types, by "package path.Name".
var Known = map[string]KnownType{
	"time.Time":                       {Rule: RuleTime},
	"math/big.Float":                  {Rule: RuleBigFloat, ResultWhy: "a big.Float's text drops its precision, so it is stored exactly only as a function's result of its own (through GobEncode)"},
	"net.IP":                          {Rule: RuleBytes, ResultWhy: "a net.IP is stored as its text, and a 4-byte address comes back in its 16-byte form"},
	"net/url.URL":                     {Rule: RuleFields, ResultWhy: "a url.URL is stored as its String, which normalizes what it parses back (a Path, a RawPath, ForceQuery)"},
	"net/url.Userinfo":                {Rule: RuleUserinfo},
	"regexp.Regexp":                   {Rule: RuleRefused, Why: "a *regexp.Regexp's text drops whether it is POSIX or leftmost-longest", ResultWhy: "a *regexp.Regexp's text drops whether it is POSIX or leftmost-longest"},
	"gonum.org/v1/gonum/mat.Dense":    {Rule: RuleMatrix},
	"gonum.org/v1/gonum/mat.VecDense": {Rule: RuleVector},
}

// KeyMethods are the methods by which a type that declares one is keyed,
// in the order they are tried.
var KeyMethods = []string{"MarshalBinary", "MarshalText"}

// StorePairs are the method pairs through which a result type that
// declares both is stored, in the order they are tried.
var StorePairs = [][2]string{
	{"MarshalBinary", "UnmarshalBinary"},
	{"GobEncode", "GobDecode"},
	{"MarshalText", "UnmarshalText"},
}

// EncodingMethods are the methods the result encoder honours on any type
// it meets, whether declared or promoted: a result type in which one is
// only promoted would be stored as its embedded field alone.
var EncodingMethods = []string{"MarshalCBOR", "UnmarshalCBOR", "MarshalBinary", "UnmarshalBinary", "MarshalText", "UnmarshalText"}

// Reserved is the prefix of the object keys that tags use ("__type__",
// "__value__", "__ref__"…). A string-keyed map with a key that starts
// with it is wrapped in a tag, so that no value can spell like one.
const Reserved = "__"
