package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"tfc/codegen"
	"tfc/ir"
	"tfc/lir"
)

// buildFlags are the flags of every command that builds an image.
type buildFlags struct {
	gen      genFlags
	memory   *string
	backend  *string
	boot     *string
	os, o2   *bool
	selftest *bool
	march    *string
}

func addBuildFlags(fs *flag.FlagSet) buildFlags {
	return buildFlags{
		gen:      addGenFlags(fs),
		memory:   fs.String("memory", "", "memory model: flat (unreal mode, memory above 1 MiB) or segmented (real mode, 640 KiB); default: chosen by the compiler"),
		backend:  fs.String("gen", "", "code generator: loop (the loop-level back end, the only one: -Os is its size policy, -O2 its speed policy)"),
		boot:     fs.String("boot", "", "boot path: full (the full boot sector and the loader, which checks the machine) or lean (the lean boot sector, -Os only); default: the .tf file's boot declaration, else full"),
		os:       fs.Bool("Os", false, "optimize for size (the default)"),
		o2:       fs.Bool("O2", false, "optimize for speed"),
		march:    fs.String("march", "386", "the CPU the code is for: 386 (any PC since 1985, and the fastest under QEMU's TCG) or sse2 (-O2: matmul rows with SSE2's pmaddwd, fewer instructions; a Pentium 4 or later: the image checks)"),
		selftest: fs.Bool("selftest", false, "the image first runs its first 8 steps silently and checks their logits against the compiler's, then prints \"self-test ok\" (or the step that differs, and stops) before the story"),
	}
}

// options are the code generator's options the flags ask for.
func (b buildFlags) options() (codegen.Options, error) {
	if *b.os && *b.o2 {
		return codegen.Options{}, usageErrorf("-Os and -O2 exclude each other")
	}
	opt := "s"
	if *b.o2 {
		opt = "2"
	}
	switch *b.backend {
	case "", "loop":
	case "small":
		return codegen.Options{}, usageErrorf("%v", codegen.ErrSmallRetired)
	default:
		return codegen.Options{}, usageErrorf("unknown code generator %q (loop)", *b.backend)
	}
	switch *b.boot {
	case "", "lean", "full":
	default:
		return codegen.Options{}, usageErrorf("unknown boot path %q (full or lean)", *b.boot)
	}
	return codegen.Options{Memory: *b.memory, Opt: opt, Gen: *b.backend, Boot: *b.boot, SelfTest: *b.selftest, March: *b.march}, nil
}

// compile runs the front end and the code generator for path.
func (b buildFlags) compile(fs *flag.FlagSet, path string, stderr io.Writer) (*ir.Program, *codegen.Image, error) {
	return b.compileWith(fs, path, stderr, false)
}

func (b buildFlags) compileWith(fs *flag.FlagSet, path string, stderr io.Writer, bench bool) (*ir.Program, *codegen.Image, error) {
	o, err := b.options()
	if err != nil {
		return nil, nil, err
	}
	o.Bench = bench
	if err := b.lirDump(&o, stderr); err != nil {
		return nil, nil, err
	}
	pr := startProgress(stderr)
	defer pr.Stop()
	p, prompt, err := b.gen.frontEnd(path, flagsSet(fs), irOptions(b.gen, stderr), stderr, pr)
	if err != nil {
		return nil, nil, err
	}
	pr.Phase("generating code")
	im, err := codegen.Build(p, prompt, p.Gen.Steps, o)
	pr.Stop()
	if err == nil && im.Note != "" {
		fmt.Fprintln(stderr, "tfc:", im.Note)
	}
	if err != nil {
		return nil, nil, err
	}
	return p, im, nil
}

// lirDump asks the loop code generator for the dump that -d names, when
// it names a loop IR pass (lir.…).
func (b buildFlags) lirDump(o *codegen.Options, stderr io.Writer) error {
	if d := *b.gen.dump; strings.HasPrefix(d, "lir.") {
		if !slices.Contains(lir.PassNames(), d) {
			return usageErrorf("-d %s: no such pass (the loop IR's: %v)", d, lir.PassNames())
		}
		o.Dump, o.DumpTo = d, stderr
	}
	return nil
}

func cmdBuild(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("build", "build FILE.tf -o disk.img [flags]")
	b := addBuildFlags(fs)
	out := fs.String("o", "", "the image to write, - for standard output (default: FILE.img)")
	bench := fs.Bool("bench", false, "add the counters that tfc run --bench reads (tokens, and the time stamp counter over the generation)")
	path, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := checkOut(fs, *out); err != nil {
		return err
	}
	_, im, err := b.compileWith(fs, path, stderr, *bench)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = strings.TrimSuffix(path, ".tf") + ".img"
	}
	if *out == "-" {
		if _, err := stdout.Write(im.Bytes); err != nil {
			return err
		}
		*out = "standard output"
	} else {
		pr := startProgress(stderr)
		pr.Phase(fmt.Sprintf("writing %s (%d sectors)", *out, len(im.Bytes)/512))
		err := os.WriteFile(*out, im.Bytes, 0o644)
		pr.Stop()
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "tfc: wrote %s: %d bytes (%s memory model, %s code generator, code %d bytes, data %d bytes); it needs %s of memory\n",
		*out, len(im.Bytes), im.Memory, im.Generator, im.CodeBytes(), dataTotal(im), memoryText(im.MemoryBytes()))
	return nil
}

func cmdAsm(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("asm", "asm FILE.tf -o out.asm [flags]")
	b := addBuildFlags(fs)
	out := fs.String("o", "", "the NASM source to write (default or -: standard output)")
	path, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := checkOut(fs, *out); err != nil {
		return err
	}
	_, im, err := b.compile(fs, path, stderr)
	if err != nil {
		return err
	}
	src := im.Listing()
	if *out == "" || *out == "-" {
		_, err = io.WriteString(stdout, src)
		return err
	}
	return os.WriteFile(*out, []byte(src), 0o644)
}

func cmdSize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("size", "size FILE.tf [--json] [flags]")
	b := addBuildFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	path, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	_, im, err := b.compile(fs, path, stderr)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Memory    string           `json:"memory"`
			Generator string           `json:"generator"`
			Regions   []codegen.Region `json:"regions"`
			Code      int              `json:"code_bytes"`
			Data      int              `json:"data_bytes"`
			Needs     int64            `json:"memory_bytes"`
		}{im.Memory, im.Generator, im.Regions, im.CodeBytes(), dataTotal(im), im.MemoryBytes()})
	}
	for _, r := range im.Regions {
		fmt.Fprintf(stdout, "%6d  %s\n", r.Bytes, r.Name)
	}
	fmt.Fprintf(stdout, "(%s memory model, %s code generator; data %d bytes; needs %s of memory)\n",
		im.Memory, im.Generator, dataTotal(im), memoryText(im.MemoryBytes()))
	fmt.Fprintf(stdout, "code %d bytes\n", im.CodeBytes())
	return nil
}

// checkOut refuses -o given an empty name (a missing argument, say from
// an unset shell variable), before anything is built.
func checkOut(fs *flag.FlagSet, out string) error {
	if flagsSet(fs)["o"] && out == "" {
		return usageErrorf("%s: -o needs a file name (or - for standard output)", fs.Name())
	}
	return nil
}

// dataTotal is the image's data: what the layout places in the data area
// (weights, the token pieces) and the data placed among the code (tables,
// prompt). build, size and run print this one figure.
func dataTotal(im *codegen.Image) int {
	n := len(im.Layout.Data)
	for _, r := range im.DataRegions {
		n += r.Bytes
	}
	return n
}
