package codegen

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"tfc/codegen/loopgen"
	x86 "tfc/codegen/x86_16"
	"tfc/ir"
	"tfc/lir"
	"tfc/runtime"
)

// buildLoop builds p with the loop-level back end: the tensor IR lowered
// to lir, its passes, instruction selection and allocation of every
// instruction (loopgen). Without a memory model asked for, the segmented
// one when the model fits it (plain real mode), else flat. When -O2's code
// does not fit below 64 KiB, it unrolls less, then takes the size policy.
func buildLoop(p *ir.Program, prompt []int, steps int, o Options) (*Image, error) {
	try := loopTry{policy: "size", cache: loopgen.NewCache()}
	if o.Opt == "2" {
		try.policy = "speed"
	}
	// Each build prints its -d dump to a buffer of its own: only the
	// build kept prints it (or the last, where none is).
	model := func(try loopTry) (*Image, *bytes.Buffer, error) {
		mo, buf := o, &bytes.Buffer{}
		if o.Dump != "" {
			mo.DumpTo = buf
		}
		im, err := buildLoopModel(p, prompt, steps, mo, try)
		return im, buf, err
	}
	im, dump, err := model(try)
	for _, next := range []loopTry{{policy: "speed", noFullUnroll: true, note: "unrolled by 8 at most"}, {policy: "size", note: "with the size policy", cache: loopgen.NewCache()}} {
		if big := (*codeTooBig)(nil); !errors.As(err, &big) || try.policy != "speed" {
			break
		}
		try = next
		if im, dump, err = model(try); err == nil {
			im.Note = fmt.Sprintf("-O2: %s, since the code of the speed policy passes 64 KiB", try.note)
		}
	}
	if err == nil && try.policy == "size" {
		// Fusing elementwise ops (a gate and its mul), and matmuls with
		// the residual add after them, makes some models smaller and
		// others larger (loops that a procedure shared no longer
		// alike): the size policy builds both and keeps the smaller.
		try.fuse = true
		if fused, fdump, ferr := model(try); ferr == nil && fused.CodeBytes() < im.CodeBytes() {
			fused.Note = im.Note
			im, dump = fused, fdump
		}
	}
	if o.Dump != "" && o.DumpTo != nil {
		if _, werr := o.DumpTo.Write(dump.Bytes()); werr != nil && err == nil {
			err = werr
		}
	}
	if err == nil && o.Opt == "2" && o.Boot == "lean" {
		im.Note = strings.TrimPrefix(im.Note+"; ", "; ") + "-O2 takes the full boot path (the lean boot sector is for -Os images)"
	}
	return im, err
}

// loopTry is how buildLoop tries to build.
type loopTry struct {
	policy       string // lir's
	noFullUnroll bool
	note         string
	fuse         bool // lir.Func.FuseElementwise
	// cache: the kernels that the tries allocated (loopgen.Cache).
	cache *loopgen.Cache
	// notZero: the activations do not lie in segment 0 (the size
	// policy's code reached their page: loopgen.LayoutOptions.Zero).
	notZero bool
	// highTables: the tables lie with the data, not in segment 0 (the
	// size policy's code reached them: loopgen.LayoutOptions.LowTables).
	highTables bool
	// highPieces: the piece table lies with the data, not in segment 0
	// (the code reached it: loopgen.LayoutOptions.LowPieces).
	highPieces bool
}

// codeTooBig: the code passes 64 KiB.
type codeTooBig struct{ n int }

func (e *codeTooBig) Error() string {
	return fmt.Sprintf("the code is %d bytes, more than the %d from %#x to 64 KiB where it runs", e.n, runtime.MaxCodeSize, runtime.CodeAddr)
}

func buildLoopModel(p *ir.Program, prompt []int, steps int, o Options, try loopTry) (*Image, error) {
	switch o.Memory {
	case "segmented", "flat":
		im, err := buildLoopIn(p, prompt, steps, o, try, o.Memory == "segmented")
		if e := (*loopgen.SegmentedError)(nil); errors.As(err, &e) {
			err = fmt.Errorf("segmented memory model: %v", err)
		}
		return im, err
	case "":
		im, err := buildLoopIn(p, prompt, steps, o, try, true)
		if e := (*loopgen.SegmentedError)(nil); errors.As(err, &e) {
			return buildLoopIn(p, prompt, steps, o, try, false)
		}
		return im, err
	}
	return nil, fmt.Errorf("unknown memory model %q (flat or segmented)", o.Memory)
}

func buildLoopIn(p *ir.Program, prompt []int, steps int, o Options, try loopTry, segmented bool) (*Image, error) {
	lo := lir.LowerOptionsFor(try.policy)
	lo.Positions = steps
	if segmented {
		lo.MaxBuf = loopgen.SegmentBytes
	}
	f, err := lir.LowerWith(p, lo)
	if err != nil {
		return nil, err
	}
	f.NoFullUnroll, f.FuseElementwise = try.noFullUnroll, try.fuse
	// The piece table's size, where the data would start with it.
	pieces := runtime.PieceConsole(!segmented, loopgen.PiecesAddr(segmented), p.Tokenizer).PieceTable(p.Tokenizer)
	data, typed, err := typedData(p, pieces, o)
	if err != nil {
		return nil, err
	}
	// The size policy's activations in segment 0, where they fit above
	// its code (no segment prefix).
	lopts := loopgen.LayoutOptions{SizesOnly: o.check, Zero: try.policy == "size" && !try.notZero, AlignLayers: try.policy == "size"}
	lopts.LowTables = lopts.Zero && !try.highTables
	lopts.LowPieces = lopts.Zero && !try.highPieces && typed == nil
	if segmented {
		// The layout does not change with the passes: whether the model
		// fits is known before them.
		l, err := loopgen.NewSegmentedLayout(p, f, data, prompt, lopts)
		if err != nil {
			return nil, err
		}
		f.Segmented, f.Segment = true, l.Segments(f)
	}
	f.LowActivations = !segmented && loopgen.LowActivationsFit(f)
	if err := lir.Compile(f, lir.Options{Dump: o.Dump, DumpTo: o.DumpTo, Policy: try.policy, March: o.March}); err != nil {
		return nil, err
	}
	var l *loopgen.Layout
	model := "flat"
	if segmented {
		model = "segmented"
		l, err = loopgen.NewSegmentedLayout(p, f, data, prompt, lopts)
	} else {
		l, err = loopgen.NewLayout(p, f, data, prompt, lopts)
		if err != nil {
			err = fmt.Errorf("flat memory model: %v", err)
		}
	}
	if err != nil {
		return nil, err
	}
	console := runtime.PieceConsole(!l.Segmented, l.Pieces, p.Tokenizer)
	l.PutPieces(console.PieceTable(p.Tokenizer))
	if err := console.CheckPieces(len(pieces)); err != nil {
		return nil, err
	}
	// The lean boot sector is for -Os images (spec.md section 7): -O2
	// does not trade checks for code bytes, and its SSE2 check is the
	// loader's.
	lean := leanBoot(p, o) && o.Opt != "2"
	cfg := runtime.BootConfig{Flat: !l.Segmented, DataAddr: l.DataAddr, End: l.End, Lean: lean, Input: typed != nil, SSE2: o.March == "sse2"}
	// The console calls the boot sector's putc and exit (their addresses
	// do not depend on the sector counts).
	r, err := runtime.SharedRoutines(cfg)
	if err != nil {
		return nil, err
	}
	console.BootPutc, console.BootExit, console.BootFinish = r.Putc, r.Exit, r.Finish
	if typed != nil {
		if err := placeTyped(typed, l.Pieces, len(pieces), !l.Segmented); err != nil {
			return nil, err
		}
	}
	// Selection again where a kernel needed a pinned slot's register, with
	// that slot in memory (Select changes neither f nor l).
	var main *x86.Program
	var profiled []string
	for unpinned := []uint16(nil); ; {
		main = &x86.Program{}
		profiled, err = loopgen.Select(main, p, f, l, loopgen.Options{Steps: steps, Trace: o.Trace, Bench: o.Bench, Profile: o.Profile, Typed: typed != nil, SelfTest: o.SelfTest, Finish: r.Finish != 0, Size: try.policy == "size", Cache: try.cache, Unpinned: unpinned})
		if e := (*loopgen.PinError)(nil); errors.As(err, &e) && !slices.Contains(unpinned, e.Slot) {
			unpinned = append(unpinned, e.Slot)
			continue
		}
		break
	}
	if err != nil {
		return nil, err
	}
	if o.SelfTest {
		tok, pos, logits, rng := l.SelfTestAddrs(p, f)
		if err := emitSelfTest(main, p, prompt, steps, tok, pos, logits, rng); err != nil {
			return nil, err
		}
	}
	if typed != nil {
		for _, b := range f.Bufs {
			if b.Kind == lir.BufState && b.Name == "sampling" {
				typed.Params = l.Linear(b) // the sampler's parameters (lir's sample)
			}
		}
		runtime.EmitTyped(main, *typed)
	}
	runtime.EmitConsole(main, console)
	if n, err := main.Size(runtime.CodeAddr); err == nil && n > runtime.MaxCodeSize {
		return nil, &codeTooBig{n}
	} else if err == nil && !l.CodeFits(runtime.CodeAddr, n) {
		// The tables, or the activations, in segment 0 above the code: it
		// reaches them, or their page. The tables with the data, then the
		// activations where they lie without (LowActivations).
		switch {
		case l.LowPieces():
			try.highPieces = true
		case l.LowTables():
			try.highTables = true
		default:
			try.notZero = true
		}
		if b, ok := o.DumpTo.(*bytes.Buffer); ok {
			b.Reset() // the build's dump is the second's
		}
		return buildLoopIn(p, prompt, steps, o, try, segmented)
	}
	l.AppendTables(main)
	if _, err := main.Assemble(runtime.CodeAddr); err != nil {
		return nil, fmt.Errorf("BUG: code generation: %v", err)
	}
	if o.check {
		// Check: the image's checks without its bytes (NewLayout wrote no data).
		return &Image{Memory: model, Generator: "loop", Main: main}, runtime.CheckLink(main, l.DataLen(), cfg)
	}
	ln, err := runtime.LinkImage(nil, main, l.Data, cfg)
	if err != nil {
		return nil, err
	}
	il := &Layout{Segmented: l.Segmented, DataAddr: l.DataAddr, Data: l.Data, Pieces: l.Pieces, Prompt: l.Prompt, NPrompt: l.NPrompt, End: l.End,
		Params: map[string]uint32{}}
	for _, b := range f.Bufs {
		if b.Kind == lir.BufParam && !b.PerLayer {
			il.Params[b.Name] = l.Linear(b)
		}
	}
	im := &Image{Bytes: ln.Bytes, Memory: model, Generator: "loop", Boot: ln.Boot, Loader: ln.Loader, Main: main, Streams: ln.StreamsEnd(), CodeOffset: ln.CodeOffset(), Layout: il, ProfileNames: profiled}
	im.Regions, im.DataRegions = regions(ln.Boot, ln.Loader, main)
	return im, nil
}
