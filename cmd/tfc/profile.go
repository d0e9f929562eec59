package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"

	"tfc/codegen"
	"tfc/ir"
	"tfc/qemu"
)

// profiled is what tfc run --profile boots: the image with a counter
// around each op, and the same build without them, whose --icount total
// the profile's must equal (the counters' own instructions aside) for the
// table to describe the code the user runs.
type profiled struct {
	p       *ir.Program
	im, ref *codegen.Image
	policy  string // -Os or -O2
}

// compileProfile builds path at the policy -Os/-O2 choose, with the
// counters and without (the reference for the total).
func (b buildFlags) compileProfile(fs *flag.FlagSet, path string, stderr io.Writer) (*profiled, error) {
	set := flagsSet(fs)
	o, err := b.options()
	if err != nil {
		return nil, err
	}
	var dump codegen.Options
	if err := b.lirDump(&dump, stderr); err != nil {
		return nil, err
	}
	pr := startProgress(stderr)
	defer pr.Stop()
	p, prompt, err := b.gen.frontEnd(path, set, irOptions(b.gen, stderr), stderr, pr)
	if err != nil {
		return nil, err
	}
	pr.Phase("generating code")
	loop := o
	loop.Gen, loop.Bench = "loop", true
	ref, err := codegen.Build(p, prompt, p.Gen.Steps, loop)
	if err != nil {
		return nil, err
	}
	loop.Profile = true
	// -d lir.PASS: the profiled build's only (the counters are not in lir).
	loop.Dump, loop.DumpTo = dump.Dump, dump.DumpTo
	im, err := codegen.Build(p, prompt, p.Gen.Steps, loop)
	pr.Stop()
	if err != nil {
		return nil, err
	}
	policy := "-Os"
	if o.Opt == "2" {
		policy = "-O2"
	}
	return &profiled{p: p, im: im, ref: ref, policy: policy}, nil
}

// bootRef boots the build without the counters under -icount, its story
// discarded, for its total. Typed prompts get none: the input is the
// user's, once.
func (pf *profiled) bootRef(ctx context.Context, o qemu.Options, debugcon string) (*qemu.Result, error) {
	o.Stdout, o.Stdin, o.Display, o.KeepOpen, o.Screenshot, o.Frames = nil, nil, false, false, "", ""
	o.Icount, o.Debugcon = true, debugcon
	return qemu.BootBytes(ctx, pf.ref.Bytes, o)
}

// report prints the profile that the image wrote to debugcon and checks
// its total against refTotal over refSteps, the build without the
// counters (refSteps 0: not booted).
func (pf *profiled) report(debugcon string, refTotal, refSteps uint64, stderr io.Writer) error {
	raw, err := os.ReadFile(debugcon)
	if err != nil {
		return err
	}
	prof, err := codegen.ParseProfile(raw, pf.im, pf.p)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "tfc: profile: guest instructions (exact, -icount) per token by op, the loop code generator at %s:\n", pf.policy)
	prof.Print(stderr)
	// Printed as the table's total (%.0f: a half rounds to even, where
	// math.Round would round it up: 269576.5 was 269576 there and 269577
	// here); the build without counters' figure is cut as --bench cuts it.
	per := float64(prof.Total) / float64(prof.Steps)
	if refSteps == 0 {
		fmt.Fprintf(stderr, "tfc: profile: %d guest instructions over the generation, %.0f per token "+
			"(not compared with the build without counters: the typed lines come once)\n", prof.Total, per)
		return nil
	}
	off := 100 * (float64(prof.Total) - float64(refTotal)) / float64(refTotal)
	fmt.Fprintf(stderr, "tfc: profile: %d guest instructions over the generation, %.0f per token; the build without the profile's counters, under --icount: %d, %d per token (%+.2f%%)\n",
		prof.Total, per, refTotal, refTotal/refSteps, off)
	if refSteps != prof.Steps || math.Abs(off) > 1 {
		fmt.Fprintf(stderr, "tfc: warning: --profile: the profiled build's total is more than 1%% off the build without counters (%d tokens against %d): the table does not describe that build\n",
			prof.Steps, refSteps)
	}
	return nil
}

// benchCounts reads a bench build's first line: the time stamp counter's
// advance over the generation and the tokens, in hex.
func benchCounts(debugcon string) (total, steps uint64, err error) {
	b, err := os.ReadFile(debugcon)
	if err != nil {
		return 0, 0, err
	}
	if _, err := fmt.Sscanf(string(b), "%x %x", &total, &steps); err != nil || steps == 0 {
		return 0, 0, fmt.Errorf("bench: the image reported %q", b)
	}
	return total, steps, nil
}
