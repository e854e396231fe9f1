// Package codecheck is a cached function whose generated file records a
// fingerprint of other code: the runtime's tests check what CheckCode and
// Do make of it.
package codecheck

func factor() int { return 2 }

//cache:version=1
func Run(x int) int { return x * factor() }
