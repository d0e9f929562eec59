// Command stress runs the differential tester (package difftest) over many
// generated programs and prints a summary: `make stress N=500`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"tfc/difftest"
)

func main() {
	n := flag.Int("n", 100, "programs to generate and run")
	seed := flag.Uint64("seed", 1, "the first program's seed (programs use seed, seed+1, …)")
	big := flag.Int("big", 10, "percent of programs with long vectors, large vocabularies and contexts")
	jobs := flag.Int("j", runtime.NumCPU(), "programs run at once")
	keep := flag.String("keep", "", "write each failing program (and its reduction, with -reduce) to this directory")
	reduce := flag.Bool("reduce", false, "reduce each failing program to a small reproducer")
	verbose := flag.Bool("v", false, "print every program's outcome")
	flag.Parse()

	sum := difftest.NewSummary()
	var mu sync.Mutex
	work := make(chan uint64)
	var wg sync.WaitGroup
	for w := 0; w < max(*jobs, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				o := difftest.Options{Big: s%100 < uint64(*big)}
				p := difftest.Generate(s, o)
				src := p.String()
				r := difftest.Run(p.Name, src, difftest.RunOptions{})
				var red string
				if r.Failed() && *reduce {
					red = difftest.Reduce(p, r.Failures[0]).String()
				}
				mu.Lock()
				sum.Add(p.Name, r)
				if *verbose || r.Failed() {
					report(p.Name, r)
				}
				if r.Failed() && *keep != "" {
					save(*keep, p.Name, src, red)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < *n; i++ {
		work <- *seed + uint64(i)
	}
	close(work)
	wg.Wait()
	sum.Print(os.Stdout)
	if sum.Mismatches() > 0 {
		os.Exit(1)
	}
}

func report(name string, r *difftest.Result) {
	switch {
	case r.Failed():
		for _, f := range r.Failures {
			fmt.Printf("FAIL %s: %s\n", name, f)
		}
	case r.Rejected != "":
		fmt.Printf("rejected %s: %s\n", name, r.Rejected)
	default:
		fmt.Printf("ok %s (%d tokens, %d configurations)\n", name, r.Tokens, len(r.Configs))
	}
}

func save(dir, name, src, reduced string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".tf"), []byte(src), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if reduced != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".reduced.tf"), []byte(reduced), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
}
