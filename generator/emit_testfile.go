package generator

import (
	"go/types"
	"strings"

	"github.com/dave/jennifer/jen"
)

// emitTest returns a test that fails when the code a cached function runs
// no longer has the fingerprint its wrapper was generated with: an edit
// made without running cachegen again.
func emitTest(pkg *types.Package, funcs []*cachedFunc, command string) []byte {
	e := newEmitter(pkg, funcs, command)
	e.importName("testing", "testing")
	e.importName(runtimePath, "cacheruntime")
	var calls []jen.Code
	for _, f := range funcs {
		calls = append(calls, jen.Values(jen.Id("Func").Op(":").Lit(f.qualified(pkg)), jen.Id("Version").Op(":").Lit(f.Directive.Version), jen.Id("Code").Op(":").Lit(f.Record.Sum), jen.Id("Parts").Op(":").Lit(strings.Join(f.Record.Parts, ","))))
	}
	e.file.Comment("TestCachegenFingerprints fails when code that a cached function of this package")
	e.file.Comment("runs has changed since cachegen generated its wrapper: run go generate.")
	e.file.Func().Id("TestCachegenFingerprints").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.For(jen.List(jen.Id("_"), jen.Id("c")).Op(":=").Range().Index().Add(e.rt("Call")).Custom(jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}, calls...)).Block(
			jen.If(jen.Err().Op(":=").Add(e.rt("CheckCode")).Call(jen.Id("c")), jen.Err().Op("!=").Nil()).Block(
				jen.Id("t").Dot("Error").Call(jen.Err()))))
	b, err := e.render()
	if err != nil {
		panic(err) // only constant names and literals: it always renders
	}
	return b
}
