package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"tfc/checkpoint"
	"tfc/frontend"
	"tfc/ir"
	"tfc/lang"
	"tfc/lir"
)

// formatError prints a compile error as file:line:col: message with the
// source line and a caret under the column.
func formatError(err error) string {
	var src []byte
	if e, ok := err.(*lang.Error); ok && e.Pos.Filename != "" {
		src, _ = os.ReadFile(e.Pos.Filename)
	}
	return lang.FormatError(err, src)
}

// genFlags are the generation settings that sim, build and run share:
// tfc's own and llama2.c's (-n -i -t -p -s -z), which override the .tf
// file's generate block and tokenizer.
type genFlags struct {
	prompt    *string
	steps     *int
	temp      *float64
	topp      *float64
	seed      *int64
	tokenizer *string
	dump      *string
}

func addGenFlags(fs *flag.FlagSet) genFlags {
	g := genFlags{
		prompt:    new(string),
		steps:     new(int),
		temp:      fs.Float64("t", 0, "llama2.c's -t: the temperature (0: greedy; above 0 needs sample() as the final op)"),
		topp:      fs.Float64("p", 0, "llama2.c's -p: top-p, in (0, 1] (needs a temperature above 0)"),
		seed:      fs.Int64("s", 0, "llama2.c's -s: the sampler's seed; 0: from the clock at the start of each generation (seed clock)"),
		tokenizer: fs.String("z", "", "llama2.c's -z: the tokenizer file (default: the .tf file's)"),
		dump: fs.String("d", "", "print the IR after the named pass to stderr: the tensor IR's (lower, "+fmt.Sprint(ir.PassNames())+
			"), or the loop IR's "+fmt.Sprint(lir.PassNames())),
	}
	const prompt = "the prompt (default: the .tf file's generate block, which may say prompt = typed)"
	fs.StringVar(g.prompt, "prompt", "", prompt)
	fs.StringVar(g.prompt, "i", "", "llama2.c's -i: "+prompt)
	const steps = "positions to generate, prompt included (default: the .tf file's)"
	fs.IntVar(g.steps, "steps", 0, steps)
	fs.IntVar(g.steps, "n", 0, "llama2.c's -n: "+steps)
	return g
}

// genFlagNames are the flags that change what an image is built from.
var genFlagNames = []string{"prompt", "i", "steps", "n", "t", "p", "s", "z"}

// maxPromptBytes bounds the prompt tfc encodes (about a million tokens at
// most, more than any context holds).
const maxPromptBytes = 1 << 20

// apply overrides the program's generate settings with the flags given;
// steps past the context are cut, with a warning on warn.
func (g genFlags) apply(p *ir.Program, set map[string]bool, warn io.Writer) error {
	if set["prompt"] || set["i"] {
		p.Gen.Prompt = *g.prompt
		p.Gen.PromptPos = lang.Pos{} // not in the file
		p.Gen.Typed = false
	}
	if set["steps"] || set["n"] {
		if *g.steps <= 0 {
			return usageErrorf("--steps must be positive")
		}
		p.Gen.Steps = *g.steps
	}
	if err := g.applySampler(p, set); err != nil {
		return err
	}
	if p.Gen.Steps > p.Context {
		fmt.Fprintf(warn, "tfc: warning: --steps %d is more than the context (%d): %d steps\n", p.Gen.Steps, p.Context, p.Context)
		p.Gen.Steps = p.Context
	}
	return nil
}

// applySampler applies -t, -p and -s as llama2.c does: a temperature of
// 0 is greedy, top-p and the seed take effect with a temperature above 0,
// and a seed of 0 is the clock's. The final op must still agree with the
// sampler, as the checks of the file require (spec.md section 3).
func (g genFlags) applySampler(p *ir.Program, set map[string]bool) error {
	if !set["t"] && !set["p"] && !set["s"] {
		return nil
	}
	gen := &p.Gen
	if set["t"] {
		if !(*g.temp >= 0) {
			return usageErrorf("-t must be at least 0, not %g", *g.temp)
		}
		if *g.temp > 0 && *g.temp < lang.MinTemperature {
			return usageErrorf("-t %g is below %.3g, the smallest whose 2^16/temperature fits the sampler's 31 bits (0: greedy)", *g.temp, lang.MinTemperature)
		}
		if gen.Greedy && gen.Temperature == 0 && gen.TopP == 0 {
			// A greedy file: llama2.c's defaults for the rest.
			gen.TopP, gen.Seed = lang.DefaultTopP, lang.DefaultSeed
		}
		gen.Temperature, gen.Greedy = *g.temp, *g.temp == 0
	}
	if set["p"] {
		if !(*g.topp > 0 && *g.topp <= 1) {
			return usageErrorf("-p must be in (0, 1], not %g", *g.topp)
		}
		gen.TopP = *g.topp
	}
	if set["s"] {
		if *g.seed < 0 {
			return usageErrorf("-s must be at least 0 (0: the clock), not %d", *g.seed)
		}
		gen.Seed, gen.SeedClock = uint64(*g.seed), *g.seed == 0
		if gen.SeedClock {
			gen.Seed = lang.DefaultSeed
		}
	}
	post := p.Blocks[ir.PostBlock]
	final := post[len(post)-1].Kind
	switch {
	case final == ir.Argmax && !gen.Greedy:
		return usageErrorf("-t %g: the model's final op is argmax, which ignores the temperature (sample(…) draws from it)", gen.Temperature)
	case final == ir.Argmax && (set["p"] || set["s"]):
		return usageErrorf("-p and -s set the sampler of sample(…): the model's final op is argmax")
	}
	return nil
}

// frontEnd loads path, applies the generation flags and encodes the
// prompt: what every command that compiles starts with. A prompt of more
// tokens than the steps is cut there by the image and the simulator: it
// says so on warn.
//
// pr, when not nil, shows the front end's phases.
func (g genFlags) frontEnd(path string, set map[string]bool, o ir.Options, warn io.Writer, pr *progress) (*ir.Program, []int, error) {
	var phase func(string)
	if pr != nil {
		phase = pr.Phase
	}
	p, err := frontend.LoadFileProgress(path, o, phase)
	if err != nil {
		return nil, nil, err
	}
	if set["z"] {
		tok, err := checkpoint.LoadTokenizer(*g.tokenizer, p.Vocab)
		if err != nil {
			return nil, nil, fmt.Errorf("-z: %v", err)
		}
		p.Tokenizer = tok
	}
	if err := g.apply(p, set, warn); err != nil {
		return nil, nil, err
	}
	if n := len(p.Gen.Prompt); n > maxPromptBytes {
		if p.Gen.PromptPos.Line == 0 {
			return nil, nil, usageErrorf("the prompt is %d bytes, more than the %d tfc encodes", n, maxPromptBytes)
		}
		return nil, nil, lang.Errorf(p.Gen.PromptPos, "the prompt is %d bytes, more than the %d tfc encodes", n, maxPromptBytes)
	}
	prompt, err := p.PromptTokens()
	if err != nil {
		return nil, nil, err
	}
	if n := len(prompt) - 1; n > p.Gen.Steps {
		fmt.Fprintf(warn, "tfc: warning: the prompt is %d tokens, more than the %d steps: only its first %d are used\n", n, p.Gen.Steps, p.Gen.Steps)
	}
	return p, prompt, nil
}

// flagsSet lists the flags given on the command line.
func flagsSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// irOptions asks for the tensor IR's dump, unless -d names a loop IR pass
// (lir.…), which the code generator prints.
func irOptions(g genFlags, stderr io.Writer) ir.Options {
	if strings.HasPrefix(*g.dump, "lir.") {
		return ir.Options{}
	}
	return ir.Options{Dump: *g.dump, DumpTo: stderr}
}
