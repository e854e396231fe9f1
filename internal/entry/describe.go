package entry

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/internal/units"
	"github.com/fxamacker/cbor/v2"
)

// Block describes one numeric slice of a result type that is stored as a
// raw block: where it is (the CBOR keys of the struct fields leading to
// it; none for a result that is itself the slice) and its element kind.
// Entries record them so that a person can read a result without its Go
// type.
type Block struct {
	Path []string `cbor:"1,keyasint,omitempty"`
	Elem string   `cbor:"2,keyasint"` // "float64", "int32", …
}

// BlocksOf describes the blocks of results of type t, in payload order.
func BlocksOf(t reflect.Type) []Block {
	slots := planOf(t)
	if len(slots) == 0 {
		return nil
	}
	out := make([]Block, len(slots))
	for i, s := range slots {
		b := Block{Elem: s.elem.Kind().String()}
		ft := t
		for _, idx := range s.path {
			f := ft.Field(idx)
			b.Path = append(b.Path, cborName(f))
			ft = f.Type
		}
		out[i] = b
	}
	return out
}

// cborName is the key a struct field is encoded under: its cbor or json
// tag's name, or its own.
func cborName(f reflect.StructField) string {
	for _, key := range []string{"cbor", "json"} {
		if v, ok := f.Tag.Lookup(key); ok {
			if name, _, _ := strings.Cut(v, ","); name != "" {
				return name
			}
		}
	}
	return f.Name
}

// Describe returns a stored result as text for people: JSON-like, with
// each numeric block summarised by its type, length and first values, and
// long lists and byte strings cut. blocks come from the entry's metadata;
// without them a block is shown by its size alone.
func Describe(payload []byte, blocks []Block) (string, error) {
	le := binary.LittleEndian
	if len(payload) < 4 {
		return "", ErrPayload
	}
	n := int(le.Uint32(payload))
	if n > len(payload)/16 || blocks != nil && len(blocks) != n {
		return "", ErrPayload
	}
	off := 4
	type blk struct {
		present bool
		n       uint64
	}
	blks := make([]blk, n)
	for i := range blks {
		if len(payload) < off+16 {
			return "", ErrPayload
		}
		blks[i] = blk{payload[off] == 1, le.Uint64(payload[off+8:])}
		off += 16
	}
	if len(payload) < off+8 {
		return "", ErrPayload
	}
	bodyLen := le.Uint64(payload[off:])
	off += 8
	if bodyLen > uint64(len(payload)-off) {
		return "", ErrPayload
	}
	body := payload[off : off+int(bodyLen)]
	if err := boundOf(body, reflect.TypeFor[any]()); err != nil {
		return "", err
	}
	var v any
	diag := ""
	// A result that holds times stores them exactly after its CBOR
	// (times.go); the CBOR's own spelling of them is what is shown.
	if _, err := DecMode.UnmarshalFirst(body, &v); err != nil {
		// A body that is well-formed but has no Go value of type any (a
		// map keyed by arrays) is shown in CBOR's diagnostic notation.
		d, _, derr := cbor.DiagnoseFirst(body)
		if derr != nil {
			return "", fmt.Errorf("%w: %v", ErrPayload, err)
		}
		diag = cut(d, 64*maxShown)
	}
	off += int(bodyLen)
	var unplaced []string
	for i, b := range blks {
		off = align8(off)
		if off > len(payload) || b.n > uint64(len(payload)-off) {
			return "", ErrPayload
		}
		raw := payload[off : off+int(b.n)]
		off += int(b.n)
		if blocks == nil {
			unplaced = append(unplaced, strconv.Itoa(len(raw)))
			continue
		}
		var summary any = summarise(raw, blocks[i].Elem)
		if !b.present {
			summary = nil
		}
		var placed bool
		if diag == "" {
			v, placed = setPath(v, blocks[i].Path, summary)
		}
		if !placed {
			unplaced = append(unplaced, fmt.Sprintf("%s at %s: %s", blocks[i].Elem, strings.Join(blocks[i].Path, "."), summary))
		}
	}
	var sb strings.Builder
	if diag != "" {
		sb.WriteString(diag)
	} else {
		writeValue(&sb, v, "")
	}
	switch {
	case len(unplaced) > 0 && blocks == nil:
		fmt.Fprintf(&sb, "\n(with numeric blocks of %s bytes, whose places the entry does not record)", strings.Join(unplaced, ", "))
	case len(unplaced) > 0:
		sb.WriteString("\nwith numeric blocks:")
		for _, u := range unplaced {
			sb.WriteString("\n  " + u)
		}
	}
	return sb.String(), nil
}

// cut shortens s to at most n bytes, saying so.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + fmt.Sprintf(" … (%d bytes of CBOR diagnostic notation)", len(s))
}

// summaryText is text written as it is, not quoted.
type summaryText string

// setPath returns v with the value at path set to x, and whether it
// found the place. Each step of path is a map key as text: a field's
// name, or the number of a keyasint field.
func setPath(v any, path []string, x any) (any, bool) {
	if len(path) == 0 {
		return x, true
	}
	m, ok := v.(map[any]any)
	if !ok {
		return v, false // a struct encoded as an array has no names to follow
	}
	for k, e := range m {
		if fmt.Sprint(k) == path[0] {
			e, ok := setPath(e, path[1:], x)
			m[k] = e
			return v, ok
		}
	}
	// The field is absent (omitempty, or nil): show it anyway.
	e, ok := setPath(nil, path[1:], x)
	if ok {
		m[path[0]] = e
	}
	return v, ok
}

// summarise spells a block of little-endian elements of kind elem: its
// type, length and first values.
func summarise(raw []byte, elem string) summaryText {
	width := map[string]int{"int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4, "float32": 4,
		"int64": 8, "uint64": 8, "int": 8, "uint": 8, "uintptr": 8, "float64": 8}[elem]
	if width == 0 || len(raw)%width != 0 {
		return summaryText(fmt.Sprintf("a block of %d bytes of %s", len(raw), elem))
	}
	n := len(raw) / width
	var vals []string
	for i := range min(n, 5) {
		var u uint64
		for b := range width {
			u |= uint64(raw[i*width+b]) << (8 * b)
		}
		switch {
		case elem == "float64":
			vals = append(vals, strconv.FormatFloat(math.Float64frombits(u), 'g', -1, 64))
		case elem == "float32":
			vals = append(vals, strconv.FormatFloat(float64(math.Float32frombits(uint32(u))), 'g', -1, 32))
		case strings.HasPrefix(elem, "int"):
			vals = append(vals, strconv.FormatInt(int64(u)<<(64-8*width)>>(64-8*width), 10))
		default:
			vals = append(vals, strconv.FormatUint(u, 10))
		}
	}
	more := ""
	if n > len(vals) {
		more = ", …"
	}
	return summaryText(fmt.Sprintf("[]%s, %s: [%s%s]", elem, units.Count(n, "element", "elements"), strings.Join(vals, ", "), more))
}

// maxShown is how many elements of a list, or bytes of a byte string, are
// shown.
const maxShown = 20

func writeValue(sb *strings.Builder, v any, indent string) {
	switch x := v.(type) {
	case nil:
		sb.WriteString("null")
	case summaryText:
		sb.WriteString(string(x))
	case string:
		if utf8.ValidString(x) {
			sb.WriteString(strconv.Quote(x))
		} else {
			fmt.Fprintf(sb, "(invalid UTF-8) %q", x)
		}
	case []byte:
		shown := x[:min(len(x), maxShown)]
		fmt.Fprintf(sb, "h'%s'", hex.EncodeToString(shown))
		if len(x) > len(shown) {
			fmt.Fprintf(sb, " … (%d bytes)", len(x))
		}
	case float64:
		sb.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case float32:
		sb.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	case time.Time:
		sb.WriteString(x.Format(time.RFC3339Nano))
	case []any:
		if len(x) == 0 {
			sb.WriteString("[]")
			return
		}
		sb.WriteString("[\n")
		for i, e := range x[:min(len(x), maxShown)] {
			sb.WriteString(indent + "  ")
			writeValue(sb, e, indent+"  ")
			if i < len(x)-1 {
				sb.WriteByte(',')
			}
			sb.WriteByte('\n')
		}
		if len(x) > maxShown {
			fmt.Fprintf(sb, "%s  … (%d elements)\n", indent, len(x))
		}
		sb.WriteString(indent + "]")
	case map[any]any:
		if len(x) == 0 {
			sb.WriteString("{}")
			return
		}
		keys := make([]any, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		sb.WriteString("{\n")
		for i, k := range keys {
			sb.WriteString(indent + "  ")
			if s, ok := k.(string); ok {
				sb.WriteString(strconv.Quote(s))
			} else {
				writeValue(sb, k, indent+"  ")
			}
			sb.WriteString(": ")
			writeValue(sb, x[k], indent+"  ")
			if i < len(keys)-1 {
				sb.WriteByte(',')
			}
			sb.WriteByte('\n')
		}
		sb.WriteString(indent + "}")
	default:
		sb.WriteString(logline.Clean(fmt.Sprint(x))) // a tag, say: its content as Go prints it, nothing a terminal acts on
	}
}
