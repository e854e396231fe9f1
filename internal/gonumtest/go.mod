module github.com/cachegen/cachegen/internal/gonumtest

go 1.26.0

require (
	github.com/cachegen/cachegen v0.0.0
	gonum.org/v1/gonum v0.17.0
)

require (
	github.com/dave/jennifer v1.7.1 // indirect
	github.com/fxamacker/cbor/v2 v2.10.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)

replace github.com/cachegen/cachegen => ../..
