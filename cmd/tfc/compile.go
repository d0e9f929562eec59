package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

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

// genFlags are the generation settings that sim, build and run share.
type genFlags struct {
	prompt *string
	steps  *int
	dump   *string
}

func addGenFlags(fs interface {
	String(string, string, string) *string
	Int(string, int, string) *int
}) genFlags {
	return genFlags{
		prompt: fs.String("prompt", "", "the prompt (default: the .tf file's generate block)"),
		steps:  fs.Int("steps", 0, "positions to generate, prompt included (default: the .tf file's)"),
		dump: fs.String("d", "", "print the IR after the named pass to stderr: the tensor IR's (lower, "+fmt.Sprint(ir.PassNames())+
			"), or, with --gen loop, the loop IR's "+fmt.Sprint(lir.PassNames())),
	}
}

// maxPromptBytes bounds the prompt tfc encodes (about a million tokens at
// most, more than any context holds).
const maxPromptBytes = 1 << 20

// apply overrides the program's generate settings with the flags given;
// steps past the context are cut, with a warning on warn.
func (g genFlags) apply(p *ir.Program, set map[string]bool, warn io.Writer) error {
	if set["prompt"] {
		p.Gen.Prompt = *g.prompt
		p.Gen.PromptPos = lang.Pos{} // not in the file
	}
	if set["steps"] {
		if *g.steps <= 0 {
			return usageErrorf("--steps must be positive")
		}
		p.Gen.Steps = *g.steps
	}
	if p.Gen.Steps > p.Context {
		fmt.Fprintf(warn, "tfc: warning: --steps %d is more than the context (%d): %d steps\n", p.Gen.Steps, p.Context, p.Context)
		p.Gen.Steps = p.Context
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
