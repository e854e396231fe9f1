package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/token"
)

// digestNode digests a declaration's syntax without positions or comments.
func digestNode(n ast.Node) string {
	h := sha256.New()
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case nil:
			h.Write([]byte{')'})
			return false
		case *ast.CommentGroup, *ast.Comment:
			return false
		case *ast.Ident:
			fmt.Fprintf(h, "(I%s", n.Name)
		case *ast.BasicLit:
			fmt.Fprintf(h, "(L%d %s", n.Kind, n.Value)
		case *ast.BinaryExpr:
			fmt.Fprintf(h, "(B%s", n.Op)
		case *ast.UnaryExpr:
			fmt.Fprintf(h, "(U%s", n.Op)
		case *ast.AssignStmt:
			fmt.Fprintf(h, "(A%s", n.Tok)
		case *ast.IncDecStmt:
			fmt.Fprintf(h, "(D%s", n.Tok)
		case *ast.BranchStmt:
			fmt.Fprintf(h, "(R%s%t", n.Tok, n.Label != nil)
		case *ast.GenDecl:
			fmt.Fprintf(h, "(G%s", n.Tok)
		case *ast.RangeStmt:
			fmt.Fprintf(h, "(N%s%t%t", n.Tok, n.Key != nil, n.Value != nil)
		case *ast.ChanType:
			fmt.Fprintf(h, "(C%d", n.Dir)
		// Nodes whose meaning hangs on a position, not on a child: a[i:]
		// against a[:i], f(xs...) against f(xs), type A = B against type A B.
		case *ast.SliceExpr:
			fmt.Fprintf(h, "(S%t%t%t%t", n.Low != nil, n.High != nil, n.Max != nil, n.Slice3)
		case *ast.CallExpr:
			fmt.Fprintf(h, "(K%t", n.Ellipsis.IsValid())
		case *ast.TypeSpec:
			fmt.Fprintf(h, "(T%t", n.Assign.IsValid())
		case *ast.ForStmt:
			fmt.Fprintf(h, "(F%t%t%t", n.Init != nil, n.Cond != nil, n.Post != nil)
		// Nodes whose optional children leave no trace of which was
		// absent: case v := <-c against default: v := <-c, func f[T
		// any](x T) against func f(T any) (x T), var x T against var x = T.
		case *ast.CommClause:
			fmt.Fprintf(h, "(c%t", n.Comm != nil)
		case *ast.CaseClause:
			fmt.Fprintf(h, "(k%t", n.List != nil)
		case *ast.FuncType:
			fmt.Fprintf(h, "(f%t%t", n.TypeParams != nil, n.Results != nil)
		case *ast.FuncDecl:
			fmt.Fprintf(h, "(d%t%t", n.Recv != nil, n.Body != nil)
		case *ast.IfStmt:
			fmt.Fprintf(h, "(i%t%t", n.Init != nil, n.Else != nil)
		case *ast.SwitchStmt:
			fmt.Fprintf(h, "(s%t%t", n.Init != nil, n.Tag != nil)
		case *ast.TypeSwitchStmt:
			fmt.Fprintf(h, "(t%t", n.Init != nil)
		case *ast.ValueSpec:
			fmt.Fprintf(h, "(v%t%d", n.Type != nil, len(n.Values))
		case *ast.ArrayType:
			fmt.Fprintf(h, "(a%t", n.Len != nil)
		case *ast.CompositeLit:
			fmt.Fprintf(h, "(l%t", n.Type != nil)
		case *ast.TypeAssertExpr:
			fmt.Fprintf(h, "(x%t", n.Type != nil)
		case *ast.Field:
			fmt.Fprintf(h, "(e%d%t", len(n.Names), n.Tag != nil)
		case *ast.ReturnStmt:
			fmt.Fprintf(h, "(r%d", len(n.Results))
		default:
			fmt.Fprintf(h, "(%T", n)
		}
		return true
	})
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// simplify rewrites a file as gofmt -s does, so that its simplifications
// are not changes: composite literals whose element types the outer
// literal implies, s[a:len(s)], and blank range variables.
func simplify(f *ast.File) {
	// s[a:len(s)] is s[a:] only where len is the builtin: not where the
	// file declares a len of its own (anywhere: a function, a variable, a
	// parameter), nor where a dot import may.
	lenShadowed := false
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			lenShadowed = lenShadowed || n.Recv == nil && n.Name.Name == "len"
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name == "len" {
						lenShadowed = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				lenShadowed = lenShadowed || id.Name == "len"
			}
		case *ast.Field:
			for _, id := range n.Names {
				lenShadowed = lenShadowed || id.Name == "len"
			}
		case *ast.TypeSpec:
			lenShadowed = lenShadowed || n.Name.Name == "len"
		case *ast.RangeStmt:
			for _, e := range []ast.Expr{n.Key, n.Value} {
				if id, ok := e.(*ast.Ident); ok && id.Name == "len" && n.Tok == token.DEFINE {
					lenShadowed = true
				}
			}
		}
		return !lenShadowed
	})
	for _, imp := range f.Imports {
		if imp.Name != nil && imp.Name.Name == "." {
			lenShadowed = true
		}
	}
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				// Inner literals first, while they still have their
				// types, as gofmt -s does.
				for _, e := range n.Elts {
					walk(e)
				}
				var keyType, eltType ast.Expr
				switch t := n.Type.(type) {
				case *ast.ArrayType:
					eltType = t.Elt
				case *ast.MapType:
					keyType, eltType = t.Key, t.Value
				}
				if eltType == nil {
					return false
				}
				for i := range n.Elts {
					px := &n.Elts[i]
					if kv, ok := (*px).(*ast.KeyValueExpr); ok {
						if keyType != nil {
							elide(keyType, &kv.Key)
						}
						px = &kv.Value
					}
					elide(eltType, px)
				}
				return false
			case *ast.SliceExpr:
				if lenShadowed || n.Max != nil {
					return true
				}
				x, ok1 := n.X.(*ast.Ident)
				call, ok2 := n.High.(*ast.CallExpr)
				if ok1 && ok2 && len(call.Args) == 1 && !call.Ellipsis.IsValid() {
					fn, ok3 := call.Fun.(*ast.Ident)
					arg, ok4 := call.Args[0].(*ast.Ident)
					if ok3 && ok4 && fn.Name == "len" && arg.Name == x.Name {
						n.High = nil
					}
				}
			case *ast.RangeStmt:
				if isBlank(n.Value) {
					n.Value = nil
				}
				if isBlank(n.Key) && n.Value == nil {
					n.Key, n.Tok = nil, token.ILLEGAL
				}
			}
			return true
		})
	}
	walk(f)
}

func isBlank(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "_"
}

// elide drops the type of the literal *px where the outer literal's
// element type typ implies it: T{…} becomes {…}, and &T{…} becomes {…}
// where typ is *T.
func elide(typ ast.Expr, px *ast.Expr) {
	if lit, ok := (*px).(*ast.CompositeLit); ok && lit.Type != nil && digestNode(lit.Type) == digestNode(typ) {
		lit.Type = nil
	}
	if ptr, ok := typ.(*ast.StarExpr); ok {
		if u, ok := (*px).(*ast.UnaryExpr); ok && u.Op == token.AND {
			if lit, ok := u.X.(*ast.CompositeLit); ok && lit.Type != nil && digestNode(lit.Type) == digestNode(ptr.X) {
				lit.Type = nil
				*px = lit
			}
		}
	}
}
