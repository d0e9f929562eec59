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
	"tfc/codegen/x86_16/isel"
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
	// Gen forces a code generator: "loop" (the loop-level back end) or
	// "small" (-Os's small templates); "" lets the policy choose: -O2 the
	// loop generator, -Os the smaller image of the two (smallest).
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
	// loader (spec.md section 7); "lean", the lean boot sector, for images
	// of the small code generator (-Os) only; "": the program's boot
	// declaration, else full.
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
	// Generator is the code generator used: "small" (-Os's templates)
	// or "loop".
	Generator string
	// Note says why a build took another way than the usual one (-Os the
	// loop code generator, -O2 less unrolling).
	Note   string
	Boot   *x86.Program
	Loader *x86.Program // nil with the lean boot sector
	Main   *x86.Program
	// Streams is the length of what the boot sector and the loader read:
	// the padding to whole cylinders follows. CodeOffset is where the main
	// code starts in Bytes.
	Streams, CodeOffset int
	Layout              *isel.Layout
	// Sizes of the code: per marked region (runtime pieces and ops); and
	// of the data placed among the code (regions named "data: …").
	Regions, DataRegions []Region
	// ProfileNames are the ops a profile build counts, in the order it
	// reports them (Options.Profile).
	ProfileNames []string
}

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
	switch {
	case o.Gen == "small" && o.Opt == "2":
		return nil, errors.New("--gen small: the small templates are -Os's (-O2 has the loop code generator only)")
	case o.Gen == "small":
		return buildSmall(p, prompt, steps, o)
	case o.Gen == "loop" || o.Opt == "2":
		return buildLoop(p, prompt, steps, o)
	case o.Gen != "":
		return nil, fmt.Errorf("unknown code generator %q (loop or small)", o.Gen)
	}
	return smallest(p, prompt, steps, o)
}

// smallest is -Os's choice of code generator: both the small templates,
// hand-golfed for the first language's shapes, and the loop code
// generator's size policy build the program, and the image with fewer code
// bytes is kept; the loop generator's on a tie, as the one that takes any
// shape and op. Where the templates cannot take the model, the loop
// generator builds it and the image's note says why. The sizes compared
// are those of the builds without instrumentation (trace, bench, profile,
// self-test, dumps), so that an instrumented image runs the generator the
// plain one runs; an instrumented build is then made again with the
// generator chosen.
func smallest(p *ir.Program, prompt []int, steps int, o Options) (*Image, error) {
	plain, instrumented := o.plain()
	if o.check {
		plain = o // Check: the templates take it, so the build succeeds
	}
	im, why, err := templates(p, prompt, steps, plain)
	if why != "" {
		im, err := buildLoop(p, prompt, steps, o)
		if err == nil {
			im.Note = "-Os: the loop code generator, since " + why
		}
		return im, err
	}
	if err != nil || o.check {
		return im, err
	}
	// A model the templates take that the loop generator cannot (a limit
	// of its layout) keeps the templates' image.
	lp, err := buildLoop(p, prompt, steps, plain)
	if err == nil && lp.CodeBytes() <= im.CodeBytes() {
		im = lp
	}
	switch {
	case !instrumented:
		return im, nil
	case im.Generator == "loop":
		return buildLoop(p, prompt, steps, o)
	}
	return build(p, prompt, steps, o)
}

// plain is o without its instrumentation, and whether o had any.
func (o Options) plain() (Options, bool) {
	had := o.Dump != ""
	for _, f := range []*bool{&o.Trace, &o.Bench, &o.TracePrompt, &o.Profile, &o.SelfTest} {
		had = had || *f
		*f = false
	}
	o.Dump, o.DumpTo = "", nil
	return o, had
}

// buildSmall builds with the small templates (--gen small), or says why
// they cannot take the model.
func buildSmall(p *ir.Program, prompt []int, steps int, o Options) (*Image, error) {
	im, why, err := templates(p, prompt, steps, o)
	if why != "" {
		return nil, fmt.Errorf("--gen small: %s", why)
	}
	return im, err
}

// templates builds with the small templates, or says why they cannot take
// the model (an op or shape they lack, or what does not fit below 64 KiB).
func templates(p *ir.Program, prompt []int, steps int, o Options) (im *Image, why string, err error) {
	if why := isel.SmallSupports(p, steps); why != "" {
		return nil, why, nil
	}
	im, err = build(p, prompt, steps, o)
	var refused *smallRefused
	if errors.As(err, &refused) {
		return nil, refused.why, nil
	}
	return im, "", err
}

// smallRefused: the small templates cannot place the model (their code
// and tables, or activations, past what 16-bit addresses reach).
type smallRefused struct{ why string }

func (e *smallRefused) Error() string { return e.why }

func build(p *ir.Program, prompt []int, steps int, o Options) (*Image, error) {
	pieces := runtime.PieceData(p.Tokenizer, 0)
	data, typed, err := typedData(p, pieces, o)
	if err != nil {
		return nil, err
	}
	l, err := layout(p, o.Memory, data, prompt)
	if err != nil {
		return nil, &smallRefused{fmt.Sprintf("the small templates cannot lay it out (%v)", err)}
	}
	model := "flat"
	if l.Segmented {
		model = "segmented"
	}
	console := runtime.Console{Flat: !l.Segmented, PiecesAddr: l.Pieces, PiecesBytes: len(pieces)}
	if err := console.CheckPieces(len(pieces)); err != nil {
		return nil, err
	}
	if b := console.PieceBias(); b != 0 {
		copy(l.Data[l.Pieces-l.DataAddr:], runtime.PieceData(p.Tokenizer, b))
	}
	if typed != nil {
		if err := placeTyped(typed, l.Pieces, len(pieces), !l.Segmented); err != nil {
			return nil, err
		}
	}
	// The boot sector's putc and exit, which the small generator's
	// console calls (their addresses do not depend on the sector counts).
	cfg := runtime.BootConfig{Flat: !l.Segmented, DataAddr: l.DataAddr, End: l.End, Lean: leanBoot(p, o), Input: typed != nil}
	r, err := runtime.SharedRoutines(cfg)
	if err != nil {
		return nil, err
	}
	console.BootPutc, console.BootExit = r.Putc, r.Exit
	main := &x86.Program{}
	so := isel.SelectOptions{Steps: steps, Bench: o.Bench, Trace: o.Trace, Typed: typed != nil, SelfTest: o.SelfTest}
	if err := isel.SelectSmall(main, p, l, so); err != nil {
		return nil, err
	}
	if o.SelfTest {
		sc := isel.Scalars()
		post := p.Blocks[ir.PostBlock]
		logits := post[len(post)-1].Args[0]
		if err := emitSelfTest(main, p, prompt, steps, sc.Tok, sc.Pos, l.VarAddr(logits), 0); err != nil {
			return nil, err
		}
	}
	if typed != nil {
		if p.Samples() {
			typed.Params = isel.SamplingAddr
		}
		runtime.EmitTyped(main, *typed)
	}
	runtime.EmitConsole(main, console)
	if n, err := main.Size(runtime.CodeAddr); err == nil && n > runtime.MaxCodeSize {
		return nil, &smallRefused{fmt.Sprintf("the small templates' code and tables (%d bytes of tables) do not fit below 64 KiB", isel.SmallDataBytes(p)+2*len(prompt))}
	}
	if _, err := main.Assemble(runtime.CodeAddr); err != nil {
		return nil, fmt.Errorf("BUG: code generation: %v", err)
	}
	ln, err := runtime.LinkImage(nil, main, l.Data, cfg)
	if err != nil {
		return nil, err
	}
	im := &Image{Bytes: ln.Bytes, Memory: model, Generator: "small", Boot: ln.Boot, Loader: ln.Loader, Main: main, Streams: ln.StreamsEnd(), CodeOffset: ln.CodeOffset(), Layout: l}
	im.Regions, im.DataRegions = regions(ln.Boot, ln.Loader, main)
	return im, nil
}

// leanBoot reports whether the lean boot sector is asked for: by o, else
// by the program's boot declaration. The full one is the default.
func leanBoot(p *ir.Program, o Options) bool {
	if o.Boot != "" {
		return o.Boot == "lean"
	}
	return p.Boot == "lean"
}

// layout places p in the memory model asked for, or, with none asked for,
// in the segmented model when it fits 640 KiB (plain real mode runs on any
// PC), else in the flat one.
func layout(p *ir.Program, memory string, pieces []byte, prompt []int) (*isel.Layout, error) {
	switch memory {
	case "":
		l, segErr := isel.NewLayout(p, isel.LayoutOptions{Segmented: true}, pieces, prompt)
		if segErr == nil {
			return l, nil
		}
		l, err := isel.NewLayout(p, isel.LayoutOptions{}, pieces, prompt)
		if err != nil {
			return nil, fmt.Errorf("the model fits neither memory model: segmented: %v; flat: %v", segErr, err)
		}
		return l, nil
	case "flat", "segmented":
		l, err := isel.NewLayout(p, isel.LayoutOptions{Segmented: memory == "segmented"}, pieces, prompt)
		if err != nil {
			return nil, fmt.Errorf("%s memory model: %v", memory, err)
		}
		return l, nil
	}
	return nil, fmt.Errorf("unknown memory model %q (flat or segmented)", memory)
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
