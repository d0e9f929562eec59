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

// apply overrides the program's generate settings with the flags given.
func (g genFlags) apply(p *ir.Program, set map[string]bool) error {
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
		p.Gen.Steps = p.Context
	}
	return nil
}

// frontEnd loads path, applies the generation flags and encodes the
// prompt: what every command that compiles starts with.
func (g genFlags) frontEnd(path string, set map[string]bool, o ir.Options) (*ir.Program, []int, error) {
	p, err := frontend.LoadFile(path, o)
	if err != nil {
		return nil, nil, err
	}
	if err := g.apply(p, set); err != nil {
		return nil, nil, err
	}
	prompt, err := p.PromptTokens()
	if err != nil {
		return nil, nil, err
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
