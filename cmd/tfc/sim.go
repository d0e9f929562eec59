package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"tfc/codegen"
	"tfc/ir"
)

func cmdSim(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", "sim FILE.tf [--prompt TEXT] [--steps N] [--float]")
	g := addGenFlags(fs)
	float := fs.Bool("float", false, "run in float32 as llama2.c does, instead of the image's integer arithmetic")
	ids := fs.String("ids", "", "also write the prompt's token ids and each chosen token id to this file, as llama2.c's reference .ids files")
	path, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	o := irOptions(g, stderr)
	o.SkipQuantize = *float && *g.dump == ""
	pr := startProgress(stderr)
	defer pr.Stop()
	p, prompt, err := g.frontEnd(path, flagsSet(fs), o, stderr, pr)
	if err != nil {
		return err
	}
	if !o.SkipQuantize {
		// What the build would refuse, the simulator refuses too.
		pr.Phase("checking the code generator's limits")
		if err := codegen.Check(p, prompt, p.Gen.Steps, codegen.Options{}); err != nil {
			return err
		}
	}
	pr.Stop()
	var sims []*ir.Sim
	var sampling *ir.Sampling // a typed prompt's parameter lines set it
	if p.Samples() {
		s := ir.SamplingOf(p.Gen)
		sampling = &s
	}
	newStepper := func(s ir.Sampling) ir.Stepper {
		if p.Gen.SeedClock {
			p.Gen.Seed = uint64(time.Now().Unix()) // llama2.c's time(NULL)
		}
		if *float {
			q := *p
			if sampling != nil {
				q.Gen.Temperature, q.Gen.TopP = 0, float64(s.TopP)/ir.One
				if s.InvT != 0 {
					q.Gen.Temperature = ir.One / float64(s.InvT)
				}
			}
			return ir.NewFloatSim(&q)
		}
		sim := ir.NewSim(p)
		if sampling != nil {
			sim.Sampling = s
		}
		sims = append(sims, sim)
		return sim
	}
	w := bufio.NewWriter(stdout)
	start := time.Now()
	var toks []int
	n := 0
	if p.Gen.Typed {
		// Each line of the standard input is a prompt, as the image reads
		// them from COM1.
		if *ids != "" {
			return usageErrorf("sim: --ids takes a prompt in the file or --prompt, not a typed one")
		}
		n, err = ir.Converse(newStepper, p.Tokenizer, stdin, p.Gen.Steps, flushing{w}, sampling, nil)
	} else {
		toks, err = ir.Generate(newStepper(ir.SamplingOf(p.Gen)), p.Tokenizer, prompt, p.Gen.Steps, flushing{w})
		n = len(toks)
	}
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	el := time.Since(start)
	if *ids != "" {
		if err := writeIDs(*ids, prompt, toks); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "sim: %d tokens in %v (%.1f tokens/s)\n", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	for _, sim := range sims {
		if sim.Overflow != nil {
			return fmt.Errorf("warning: %v", sim.Overflow)
		}
	}
	return nil
}

// flushing flushes after every piece so that the story streams.
type flushing struct{ w *bufio.Writer }

func (f flushing) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if err == nil {
		err = f.w.Flush()
	}
	return n, err
}

// writeIDs writes "prompt: ids" then one chosen token a line.
func writeIDs(path string, prompt, toks []int) error {
	var b strings.Builder
	b.WriteString("prompt:")
	for _, t := range prompt {
		fmt.Fprintf(&b, " %d", t)
	}
	b.WriteByte('\n')
	for _, t := range toks {
		fmt.Fprintf(&b, "%d\n", t)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
