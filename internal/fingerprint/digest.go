package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
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
			fmt.Fprintf(h, "(R%s", n.Tok)
		case *ast.GenDecl:
			fmt.Fprintf(h, "(G%s", n.Tok)
		case *ast.RangeStmt:
			fmt.Fprintf(h, "(N%s", n.Tok)
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
		default:
			fmt.Fprintf(h, "(%T", n)
		}
		return true
	})
	return hex.EncodeToString(h.Sum(nil)[:8])
}
