// Package codegen turns a compiled IR program into a bootable disk image:
// it chooses the memory model, lays out memory, selects instructions for
// every op and links them with the runtime (boot sector, disk loading,
// console).
package codegen

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
	"tfc/lang"
	"tfc/runtime"
)

// Options control a build.
type Options struct {
	// Memory forces a memory model: "flat" or "segmented"; "" chooses.
	Memory string
	// Opt is "s" (smallest code, the default) or "2" (fastest).
	Opt string
	// Trace writes, after every forward pass, its logits and the token
	// the model chose to QEMU's debug console (ParseTrace reads them), for
	// tests that compare them with the simulator's. Both code generators
	// write the same format. Bench reports go to the same console: use
	// one or the other.
	Trace bool
	// Bench adds code that reports, on QEMU's debug console (port 0xE9),
	// the time stamp counter's advance over the generation and the number
	// of forward passes.
	Bench bool
	// TracePrompt writes the tokens of each typed line (a typed prompt's
	// image) to QEMU's debug console: little-endian words, then 0xFFFF
	// (ParsePromptTrace). The same console as Trace and Bench: use one.
	TracePrompt bool
	// Gen names the code generator: "loop" (the loop-level back end, the
	// only one) or "". The small templates it once had beside it ("small")
	// are retired: the loop generator's size policy builds images as small
	// (smaller for every example but mlp-random, 2 bytes larger).
	Gen string
	// Profile (the loop code generator) counts the time stamp counter's
	// advance over each op, reported after Bench's line (ParseProfile).
	Profile bool
	// March is "" (386 code, the default) or "sse2": -O2's matmul rows of
	// int16 weights run SSE2's pmaddwd (lir's simd pass), and the image
	// checks for SSE2 and turns it on before it runs.
	March string
	// SelfTest: the image first runs its first steps silently and
	// checks their logits against the simulator's (runtime.SelfTest),
	// printing "self-test ok" or the step that differs. Not with a typed
	// prompt.
	SelfTest bool
	// Boot chooses the boot path: "full", the full boot sector and the
	// loader (spec.md section 7); "lean", the lean boot sector, for -Os
	// images only; "": the program's boot declaration, else full.
	Boot string
	// Dump names a loop IR pass ("lir.fold", …) after which the loop
	// generator prints its IR to DumpTo.
	Dump   string
	DumpTo io.Writer
	// check (Check): the build makes its checks but need not produce
	// the image's bytes.
	check bool
}

// Image is a built disk image and what it is made of.
type Image struct {
	Bytes  []byte
	Memory string // the memory model used
	// Generator is the code generator used: "loop".
	Generator string
	// Note says why a build took another way than the usual one (-O2 less
	// unrolling).
	Note   string
	Boot   *x86.Program
	Loader *x86.Program // nil with the lean boot sector
	Main   *x86.Program
	// Streams is the length of what the boot sector and the loader read:
	// the padding to whole cylinders follows. CodeOffset is where the main
	// code starts in Bytes.
	Streams, CodeOffset int
	Layout              *Layout
	// Sizes of the code: per marked region (runtime pieces and ops); and
	// of the data placed among the code (regions named "data: …").
	Regions, DataRegions []Region
	// ProfileNames are the ops a profile build counts, in the order it
	// reports them (Options.Profile).
	ProfileNames []string
}

// Layout is where an image's data lies and how far its memory reaches.
type Layout struct {
	Segmented      bool
	DataAddr       uint32
	Data           []byte // loaded at DataAddr
	Pieces, Prompt uint32 // the tokenizer's pieces; the prompt's tokens (words)
	NPrompt        int
	End            uint32 // first byte past everything the image uses
	// Params are the global params' linear addresses (their bytes as the
	// image loads them), by name.
	Params map[string]uint32
}

// ErrSmallRetired answers --gen small.
var ErrSmallRetired = errors.New("--gen small: the small templates are retired; the loop code generator builds every model (-Os is its size policy)")

// Region is the code size of one op or runtime piece.
type Region struct {
	Name  string `json:"name"`
	Bytes int    `json:"bytes"`
}

// CodeBytes is the total code size (boot sector code included, padding and
// data excluded).
func (im *Image) CodeBytes() int {
	n := 0
	for _, r := range im.Regions {
		n += r.Bytes
	}
	return n
}

// Build compiles p (after the IR passes) into an image that generates from
// prompt for steps positions.
//
// An error that is not about one line of the program points at its model
// declaration.
func Build(p *ir.Program, prompt []int, steps int, o Options) (*Image, error) {
	im, err := buildWith(p, prompt, steps, o)
	if err != nil {
		var le *lang.Error
		if !errors.As(err, &le) {
			err = lang.Errorf(p.Pos, "%v", err)
		}
		return nil, err
	}
	return im, nil
}

func buildWith(p *ir.Program, prompt []int, steps int, o Options) (*Image, error) {
	switch o.March {
	case "", "386":
		o.March = ""
	case "sse2":
		if o.Opt != "2" {
			return nil, errors.New("-march sse2 is -O2's (the size policy has no SSE2 code)")
		}
	default:
		return nil, fmt.Errorf("unknown -march %q (386 or sse2)", o.March)
	}
	if o.SelfTest && p.Gen.Typed {
		return nil, errors.New("--selftest needs the prompt in the file or --prompt: a typed prompt is the user's")
	}
	switch o.Gen {
	case "", "loop":
		return buildLoop(p, prompt, steps, o)
	case "small":
		return nil, ErrSmallRetired
	}
	return nil, fmt.Errorf("unknown code generator %q (loop)", o.Gen)
}

// leanBoot reports whether the lean boot sector is asked for: by o, else
// by the program's boot declaration. The full one is the default.
func leanBoot(p *ir.Program, o Options) bool {
	if o.Boot != "" {
		return o.Boot == "lean"
	}
	return p.Boot == "lean"
}

// regions adds up bytes by region name over both programs: code, and the
// data that sits among the code (regions named "data: …").
func regions(progs ...*x86.Program) (code, data []Region) {
	sizes := map[string]int{}
	for _, pr := range progs {
		if pr == nil {
			continue
		}
		for _, r := range pr.Regions() {
			if strings.HasPrefix(r.Name, runtime.PadRegion) {
				continue
			}
			sizes[r.Name] += int(r.End - r.Start)
		}
	}
	for n, b := range sizes {
		if strings.HasPrefix(n, "data: ") {
			data = append(data, Region{n, b})
		} else {
			code = append(code, Region{n, b})
		}
	}
	for _, rs := range [][]Region{code, data} {
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].Bytes != rs[j].Bytes {
				return rs[i].Bytes > rs[j].Bytes
			}
			return rs[i].Name < rs[j].Name
		})
	}
	return code, data
}

// Listing is the image's code as one NASM source: the boot sector at
// 0x7C00, its padding and signature, then the main code at 0x7E00.
// nasm -f bin of it gives the image's bytes up to the data.
func (im *Image) Listing() string {
	var b strings.Builder
	b.WriteString(im.Boot.Listing())
	b.WriteString("    times 0x1b8-($-$$) db 0\n")
	b.WriteString(dbLine(im.Bytes[0x1b8:512]))
	if im.Loader != nil {
		n, _ := im.Loader.Size(runtime.LoaderAddr)
		sec := (n + 2 + 511) / 512
		fmt.Fprintf(&b, "\nsection loader vstart=%#x align=1\n", runtime.LoaderAddr)
		b.WriteString(stripHeader(im.Loader.Listing()))
		fmt.Fprintf(&b, "    times %d-($-$$) db 0\n", sec*512-2)
		b.WriteString(dbLine(im.Bytes[512+sec*512-2 : 512+sec*512]))
	}
	fmt.Fprintf(&b, "\nsection main vstart=%#x align=1\n", runtime.CodeAddr)
	b.WriteString(stripHeader(im.Main.Listing()))
	return b.String()
}

// dbLine is a NASM db line of bs.
func dbLine(bs []byte) string {
	var b strings.Builder
	b.WriteString("    db ")
	for i, x := range bs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%#02x", x)
	}
	b.WriteString("\n")
	return b.String()
}

// stripHeader drops a listing's "bits" and "org" lines, so that it can
// follow another listing.
func stripHeader(src string) string {
	var out []string
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "bits ") || strings.HasPrefix(t, "org ") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
