// Command cachegen writes cached wrappers for functions annotated with
// //cache:version=N. Run it with go generate:
//
//	//go:generate go tool cachegen
//
// Usage:
//
//	cachegen [-output name] [-check] [-tags list] [-accept funcs] [packages]
//
// For each annotated F it writes FCached, FCacheKey and FInvalidate into
// one file per package (default cache_gen.go), and beside it a test
// (cache_gen_test.go) that fails when F's code changes without cachegen
// being run again. -check writes nothing and exits 1 if any package's
// files are missing or stale. Problems are printed as file:line:col:
// message, all of them, and nothing is written.
//
// Functions annotated //cache:key declare the key of a type that cannot
// be keyed as it is (an interface, a type of another module); a pair
// annotated //cache:store and //cache:load stores a result of a type
// that cannot be stored as it is. See the package documentation of the
// generator.
//
// The generated file records a fingerprint of the code each function runs,
// and of the declared functions its wrappers call (see the package
// documentation of the generator). A function whose fingerprint changed
// while its version did not is refused: bump its version, or, only if its
// results stay the same, name it in -accept.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/cachegen/cachegen/generator"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("cachegen: ")
	output := flag.String("output", generator.DefaultOutput, "name of the generated file in each package")
	check := flag.Bool("check", false, "write nothing; exit 1 if any generated file is missing or stale")
	tags := flag.String("tags", "", "comma-separated build tags")
	accept := flag.String("accept", "", "comma-separated functions (F, or T.M) whose changes to record without a version bump, only if their results stay the same")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cachegen [-output name] [-check] [-tags list] [-accept funcs] [packages]")
		flag.PrintDefaults()
	}
	flag.Parse()
	cfg := generator.Config{Patterns: flag.Args(), Tags: *tags, Output: *output}
	if *accept != "" {
		cfg.Accept = strings.Split(*accept, ",")
	}
	if err := run(cfg, *check); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(cfg generator.Config, check bool) error {
	results, err := generator.Generate(cfg)
	if err != nil {
		return err
	}
	failed := false
	cwd, _ := os.Getwd() // problems are positioned relative to it, as the go command's are
	for _, r := range results {
		for _, e := range r.Errs {
			fmt.Fprintln(os.Stderr, generator.Short(e, cwd))
			failed = true
		}
	}
	if failed {
		return fmt.Errorf("nothing written: fix the problems above")
	}
	var stale []string
	for _, r := range results {
		s, err := r.Stale()
		if err != nil {
			return err
		}
		if !s {
			continue
		}
		if check {
			stale = append(stale, r.OutputPath)
			continue
		}
		if err := r.Commit(); err != nil {
			return err
		}
	}
	if len(stale) > 0 {
		for _, s := range stale {
			fmt.Fprintf(os.Stderr, "%s is missing or stale\n", s)
		}
		return fmt.Errorf("run go generate ./... (or cachegen) and commit the result")
	}
	return nil
}
