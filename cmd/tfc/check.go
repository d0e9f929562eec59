package main

import (
	"fmt"
	"io"

	"tfc/codegen"
)

// cmdCheck makes every check a build makes (the language's, the weights',
// the prompt's and the code generator's limits) and writes nothing.
func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", "check FILE.tf [flags]")
	b := addBuildFlags(fs)
	path, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	o, err := b.options()
	if err != nil {
		return err
	}
	pr := startProgress(stderr)
	defer pr.Stop()
	// The build's checks on the model's shapes: random weights undrawn
	// (a checkpoint's are read: their values are checked).
	io := irOptions(b.gen, stderr)
	io.ShapesOnly = true
	p, prompt, err := b.gen.frontEnd(path, flagsSet(fs), io, stderr, pr)
	if err != nil {
		return err
	}
	pr.Phase("checking the code generator's limits")
	if err := codegen.Check(p, prompt, p.Gen.Steps, o); err != nil {
		return err
	}
	pr.Stop()
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return nil
}
