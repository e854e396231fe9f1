// Package gonumtest holds the tests of how cachegen keys, stores and
// checks gonum's matrices, the types its users pass most. It is a module
// of its own so that cachegen's go.mod, which every user's build reads,
// does not require gonum and move its users' version of it.
package gonumtest
