package golden_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"tfc/codegen"
	x86 "tfc/codegen/x86_16"
	"tfc/codegen/x86_16/isel"
	"tfc/ir"
	"tfc/qemu"
	"tfc/runtime"
	"tfc/runtime/ioport"
)

var update = flag.Bool("update", false, "rewrite testdata/handwritten/SIZES.md")

const hwDir = "../../testdata/handwritten"

// sharedHelpers are the small generator's subroutines that serve every
// kind of kernel (rounding, table interpolation): SIZES.md shows the
// kernels without them too.
var sharedHelpers = map[string]bool{"rshr": true, "interp": true}

// scratch is low memory the handwritten kernels may use (below the vars,
// above the scalars of isel's layout).
const scratch = 0x580

// config is a model built in one memory model, as a real build does.
type config struct {
	name, file, memory string
	p                  *ir.Program
	im                 *codegen.Image
	l                  *isel.Layout
	code               []byte // the real build's main code, at runtime.CodeAddr
}

func (c *config) seg() bool { return c.l.Segmented }

func loadConfig(t *testing.T, name, file, memory string) *config {
	t.Helper()
	p, err := ir.LoadFile(filepath.Join(hwDir, file), ir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prompt, err := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
	if err != nil {
		t.Fatal(err)
	}
	im, err := codegen.Build(p, prompt, p.Gen.Steps, codegen.Options{Memory: memory})
	if err != nil {
		t.Fatal(err)
	}
	if im.Generator != "small" || im.Memory != memory {
		t.Fatalf("%s: built with the %s generator in the %s memory model, want small and %s (%s)",
			file, im.Generator, im.Memory, memory, im.Note)
	}
	return &config{name: name, file: file, memory: memory, p: p, im: im, l: im.Layout,
		code: im.Bytes[runtime.SectorSize:]}
}

// chunk is memory at a linear address: an input to load or an output
// with its expected bytes.
type chunk struct {
	addr uint32
	data []byte
}

// run is one kernel on one configuration: what to load, what to expect.
type run struct {
	t      *testing.T
	cfg    *config
	ops    []*ir.Op // the ops the generated code computes
	rng    *rand.Rand
	layer  int // -1 outside the layer block
	tok    int
	pos    int
	in     []chunk // low memory to load before the call
	fill   []chunk // low memory to fill with 0xCC before the call (outputs)
	cache  []byte  // the contents of the layer's cache region, or nil
	out    []chunk // memory to print after the call, and what it must hold
	defs   map[string]int64
	table  *ir.Table // the table the handwritten code reads at TAB
	pieces []int     // print_piece: (prev, token) pairs
	axTo   uint32    // where the harness stores AX after the kernel (argmax's token), if not 0
	serial []byte    // print_piece: what COM1 must receive
}

func (r *run) def(name string, v int64) { r.defs[name] = v }

func (r *run) input(v *ir.Var, x []int32) {
	r.in = append(r.in, chunk{r.cfg.l.VarAddr(v), i32bytes(x)})
}

func (r *run) output(v *ir.Var, want []int32) {
	r.out = append(r.out, chunk{r.cfg.l.VarAddr(v), i32bytes(want)})
}

func i32bytes(x []int32) []byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return b
}

// kernel is one kernel of the comparison.
type kernel struct {
	name string
	asm  string                     // the handwritten file
	op   func(p *ir.Program) *ir.Op // the op of the model; nil: print_piece
	prep func(r *run)
	// sub: the handwritten code is a subroutine (print_piece), whose RET
	// counts; otherwise its final RET does not (the generated op's code
	// falls into the next op's).
	sub bool
}

// result is one row of SIZES.md.
type result struct {
	config, kernel string
	genOp, genSubs int
	helpers        int // of genSubs, in the subroutines every kernel shares (sharedHelpers)
	subs           []string
	hw             int
	gap            string
	checked        bool
}

var (
	resultsMu sync.Mutex
	results   []result
)

func needTools(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nasm"); err != nil {
		t.Skip("SKIPPED: nasm is not installed (make deps): the handwritten kernels cannot be assembled")
	}
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps): the kernels cannot run")
	}
}

func TestGeneratedVsHandwritten(t *testing.T) {
	needTools(t)
	gaps := readGaps(t)
	configs := []struct{ name, file, memory string }{
		{"int8/segmented", "int8.tf", "segmented"},
		{"int16/flat", "int16.tf", "flat"},
	}
	t.Run("kernels", func(t *testing.T) {
		for _, cs := range configs {
			cfg := loadConfig(t, cs.name, cs.file, cs.memory)
			for _, k := range kernels {
				t.Run(cs.name+"/"+k.name, func(t *testing.T) {
					t.Parallel()
					res := runKernel(t, cfg, k)
					key := cfg.name + " " + k.name
					res.gap = gaps[key]
					if res.gap == "" {
						res.gap = gaps["* "+k.name]
					}
					gen := res.genOp + res.genSubs
					t.Logf("%s: generated %d bytes (op %d + subroutines %d: %s), handwritten %d",
						key, gen, res.genOp, res.genSubs, strings.Join(res.subs, ", "), res.hw)
					if gen > res.hw && res.gap == "" {
						t.Errorf("%s: the generated kernel is %d bytes, the handwritten one %d: smaller, or list it in KNOWN_GAPS.md with the reason",
							key, gen, res.hw)
					}
					if gen <= res.hw && res.gap != "" {
						t.Logf("%s: no longer a gap (generated %d <= handwritten %d): remove it from KNOWN_GAPS.md", key, gen, res.hw)
					}
					resultsMu.Lock()
					results = append(results, res)
					resultsMu.Unlock()
				})
			}
		}
	})
	if *update {
		if len(results) != len(configs)*len(kernels) {
			t.Fatalf("-update needs every kernel to run and pass (%d of %d did)", len(results), len(configs)*len(kernels))
		}
		writeSizes(t)
	}
}

// readGaps reads KNOWN_GAPS.md: lines "- `CONFIG KERNEL`: reason", CONFIG
// "*" for every configuration.
func readGaps(t *testing.T) map[string]string {
	t.Helper()
	gaps := map[string]string{}
	f, err := os.ReadFile(filepath.Join(hwDir, "KNOWN_GAPS.md"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(f))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "- `") {
			continue
		}
		rest := line[3:]
		i := strings.Index(rest, "`")
		if i < 0 {
			t.Fatalf("KNOWN_GAPS.md: %q: no closing backquote", line)
		}
		reason := strings.TrimSpace(strings.TrimPrefix(rest[i+1:], ":"))
		if reason == "" {
			t.Fatalf("KNOWN_GAPS.md: %q gives no reason", line)
		}
		gaps[rest[:i]] = reason
	}
	return gaps
}

func writeSizes(t *testing.T) {
	sort.Slice(results, func(i, j int) bool {
		if results[i].config != results[j].config {
			return results[i].config < results[j].config
		}
		return kernelIndex(results[i].kernel) < kernelIndex(results[j].kernel)
	})
	var b strings.Builder
	b.WriteString(`# Generated vs handwritten kernel sizes

Written by ` + "`go test ./codegen/golden -update`" + ` from the golden tests, which run
each kernel of the small code generator (` + "`isel.SmallKernel`" + `, cut from a real
build of ` + "`int8.tf`" + ` or ` + "`int16.tf`" + ` here) and its handwritten version (` + "`*.asm`" + `
here, ` + "`nasm -f bin`" + `) in QEMU on the same random inputs, and check both
against the simulator's arithmetic.

What is counted, in bytes of code:

- generated: the op's region (as ` + "`tfc size`" + ` names it; the code that sets up
  the registers and calls a subroutine, for a subroutine kernel) plus every
  subroutine it calls, directly or through another (` + "`rshr`" + `, ` + "`interp`" + `):
  the kernel as it would be alone in a program: only the instructions it
  can reach count (not the entries of ` + "`rshr`" + ` for other kernels' shift
  counts). A real build shares the subroutines between ops, so their share
  per op there is smaller.
- ` + "`print_piece`" + `: the runtime's (runtime/console.go), as a real build links it.
- handwritten: the whole file, without its final ` + "`ret`" + ` (the generated
  op's code has none: it falls into the next op's); for ` + "`print_piece`" + `,
  a subroutine on both sides, with it.
- Tables (exp, gate, RoPE) and other data are not code and not counted.

A generated kernel larger than the handwritten one fails the test unless
KNOWN_GAPS.md lists it.

The column "without shared" leaves out the subroutines that every kind of
kernel shares (` + "`rshr`, `interp`" + `), for comparison only.

| config | kernel | generated | = op + subroutines | without shared | handwritten | generated − handwritten | known gap |
| --- | --- | ---: | --- | ---: | ---: | ---: | --- |
`)
	gen, own, hw := 0, 0, 0
	for _, r := range results {
		g := r.genOp + r.genSubs
		subs := ""
		if len(r.subs) > 0 {
			subs = " + " + strings.Join(r.subs, " + ")
		}
		gap := ""
		if r.gap != "" {
			gap = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d%s | %d | %d | %+d | %s |\n", r.config, r.kernel, g, r.genOp, subs, g-r.helpers, r.hw, g-r.hw, gap)
		gen += g
		own += g - r.helpers
		hw += r.hw
	}
	fmt.Fprintf(&b, "| all | | %d | | %d | %d | %+d | |\n", gen, own, hw, gen-hw)
	if err := os.WriteFile(filepath.Join(hwDir, "SIZES.md"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func kernelIndex(name string) int {
	for i, k := range kernels {
		if k.name == name {
			return i
		}
	}
	return len(kernels)
}

func seedOf(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// runKernel prepares the inputs, runs the generated and the handwritten
// kernel in QEMU and checks both.
func runKernel(t *testing.T, cfg *config, k kernel) result {
	res := result{config: cfg.name, kernel: k.name}
	r := &run{t: t, cfg: cfg, rng: rand.New(rand.NewPCG(seedOf(cfg.name+" "+k.name), 1)), layer: -1,
		defs: map[string]int64{}}
	var gen *isel.Kernel
	if k.op != nil {
		op := k.op(cfg.p)
		if op == nil {
			t.Fatalf("no such op in %s", cfg.file)
		}
		var err error
		if gen, err = isel.SmallKernel(cfg.p, cfg.l, op); err != nil {
			t.Fatal(err)
		}
		r.ops = gen.Ops
		for _, o := range gen.Ops {
			if o.Kind == ir.Store || o.Kind == ir.Attention || inLayer(cfg.p, o) {
				r.layer = min(1, cfg.p.Layers-1)
			}
		}
	}
	k.prep(r)
	s := isel.Scalars()
	for n, v := range map[string]int64{"TOK": int64(s.Tok), "POS": int64(s.Pos), "NEXT": int64(s.Next),
		"LAYERW": int64(s.LayerW), "LAYERC": int64(s.LayerC), "SCRATCH": scratch} {
		r.def(n, v)
	}
	if cfg.seg() {
		r.def("FLAT", 0)
	} else {
		r.def("FLAT", 1)
	}

	// The generated kernel, assembled where the harness puts it.
	var genBlob []byte
	genCallee := "kernel"
	if gen != nil {
		at := r.kernelAddr(nil)
		b, err := gen.Prog.Assemble(at)
		if err != nil {
			t.Fatalf("generated kernel: %v", err)
		}
		genBlob = b
		live := reachable(gen.Prog)
		for _, rg := range gen.Prog.Regions() {
			// The reachable instructions, and the data among them (the
			// arguments after a call), as tfc size counts them.
			n := 0
			for _, pl := range gen.Prog.PlacedWithData() {
				if pl.Addr >= rg.Start && pl.Addr < rg.End && (live[pl.Addr] || pl.Data != nil) {
					n += pl.Size
				}
			}
			switch {
			case rg.Name == gen.Name:
				res.genOp = n
			case contains(gen.Subs, rg.Name):
				res.genSubs += n
				if sharedHelpers[rg.Name] {
					res.helpers += n
				}
				res.subs = append(res.subs, fmt.Sprintf("%s %d", rg.Name, n))
			}
		}
		checkAgainstBuild(t, cfg, gen)
	} else {
		genCallee = runtime.PrintPiece
		for _, rg := range cfg.im.Regions {
			if rg.Name == runtime.PrintPiece {
				res.genOp = rg.Bytes
			}
		}
	}

	// The handwritten kernel.
	at := r.kernelAddr(nil)
	syms := r.symbols()
	r.def("ORG", int64(at))
	if r.table != nil {
		r.def("TAB", int64(syms["tab"]))
	}
	if a, ok := syms[runtime.Putc]; ok {
		r.def("PUTC", int64(a))
	}
	hwBlob := nasm(t, k.asm, r.defs)
	res.hw = len(hwBlob)
	if !k.sub {
		if len(hwBlob) == 0 || hwBlob[len(hwBlob)-1] != 0xC3 {
			t.Fatalf("%s does not end with ret", k.asm)
		}
		res.hw--
	}

	// Both run, in parallel.
	var wg sync.WaitGroup
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	for i, blob := range [][]byte{genBlob, hwBlob} {
		callee := genCallee
		if i == 1 {
			callee = "kernel"
		}
		img, err := r.image(blob, callee)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = boot(img)
		}()
	}
	wg.Wait()
	for i, who := range []string{"generated", "handwritten"} {
		if errs[i] != nil {
			t.Fatalf("%s: %v", who, errs[i])
		}
		r.check(who, outs[i])
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Errorf("the generated and the handwritten kernel print different outputs")
	}
	res.checked = true
	return res
}

// reachable marks the instructions that control can reach from the
// program's first one: the kernel alone does not count the parts of a
// shared subroutine that only other kernels use (the entries of rshr for
// other shift counts).
func reachable(p *x86.Program) map[uint32]bool {
	placed := p.Placed()
	at := map[uint32]int{}
	for i, pl := range placed {
		at[pl.Addr] = i
	}
	syms := p.Symbols()
	live := map[uint32]bool{}
	work := []int{0}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		if i >= len(placed) || live[placed[i].Addr] {
			continue
		}
		in := placed[i].Inst
		live[placed[i].Addr] = true
		for _, a := range in.Args {
			switch a := a.(type) {
			case x86.Short:
				if l, ok := a.To.(x86.Label); ok {
					work = append(work, at[syms[string(l)]])
				}
			case x86.Near:
				if l, ok := a.To.(x86.Label); ok {
					work = append(work, at[syms[string(l)]])
				}
			case x86.Label:
				work = append(work, at[syms[string(a)]])
			}
		}
		if in.Op != x86.RET && in.Op != x86.JMP {
			work = append(work, i+1)
		}
	}
	return live
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func inLayer(p *ir.Program, op *ir.Op) bool {
	for _, o := range p.Blocks[ir.LayerBlock] {
		if o == op {
			return true
		}
	}
	return false
}

// check compares what a kernel printed with the expected outputs.
func (r *run) check(who string, serial []byte) {
	t := r.t
	if r.pieces != nil {
		if !bytes.Equal(serial, r.serial) {
			t.Errorf("%s print_piece printed\n%q\nwant\n%q", who, serial, r.serial)
		}
		return
	}
	lines := strings.Split(strings.TrimSuffix(string(serial), "\n"), "\n")
	if len(lines) != len(r.out) {
		t.Errorf("%s: %d lines of output, want %d: %q", who, len(lines), len(r.out), serial)
		return
	}
	for i, c := range r.out {
		got, err := hex.DecodeString(lines[i])
		if err != nil {
			t.Errorf("%s: output %d: %v", who, i, err)
			continue
		}
		if !bytes.Equal(got, c.data) {
			t.Errorf("%s: output %d at %#x differs from the simulator's arithmetic:\n%s", who, i, c.addr, diff(got, c.data))
		}
	}
}

// diff shows the first differing dwords.
func diff(got, want []byte) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(want) && i < len(got); i += 4 {
		j := min(i+4, len(want), len(got))
		if !bytes.Equal(got[i:j], want[i:j]) {
			fmt.Fprintf(&b, "  bytes %d..%d: got %x want %x\n", i, j-1, got[i:j], want[i:j])
			if n++; n == 8 {
				break
			}
		}
	}
	if len(got) != len(want) {
		fmt.Fprintf(&b, "  %d bytes, want %d\n", len(got), len(want))
	}
	return b.String()
}

func boot(img []byte) ([]byte, error) {
	res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 60 * time.Second})
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("exit code %d (QEMU status %d), COM1 %q", res.ExitCode, res.Status, res.Serial)
	}
	return res.Serial, nil
}

// nasm assembles a handwritten kernel with the defines.
func nasm(t *testing.T, file string, defs map[string]int64) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "k.bin")
	args := []string{"-f", "bin", "-w+all", "-o", out}
	var names []string
	for n := range defs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		args = append(args, fmt.Sprintf("-D%s=%d", n, defs[n]))
	}
	args = append(args, file)
	cmd := exec.Command("nasm", args...)
	cmd.Dir = hwDir
	if msg, err := cmd.CombinedOutput(); err != nil || len(msg) > 0 {
		t.Fatalf("nasm %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkAgainstBuild checks that the standalone kernel's op code and
// subroutines are the real build's, instruction for instruction (bytes
// too, but for calls and table addresses, which differ).
func checkAgainstBuild(t *testing.T, cfg *config, k *isel.Kernel) {
	t.Helper()
	main := cfg.im.Main
	regions := map[string]x86.Region{}
	for _, rg := range main.Regions() {
		if _, ok := regions[rg.Name]; !ok {
			regions[rg.Name] = rg
		}
	}
	kcode, err := k.Prog.Assemble(0x8000)
	if err != nil {
		t.Fatal(err)
	}
	kregions := map[string]x86.Region{}
	for _, rg := range k.Prog.Regions() {
		kregions[rg.Name] = rg
	}
	inRegion := func(pl []x86.Placed, rg x86.Region) []x86.Placed {
		var out []x86.Placed
		for _, p := range pl {
			if p.Addr >= rg.Start && p.Addr < rg.End {
				out = append(out, p)
			}
		}
		return out
	}
	for _, name := range append([]string{k.Name}, k.Subs...) {
		real, ok := regions[name]
		if !ok {
			t.Errorf("the real build has no region %q", name)
			continue
		}
		want := inRegion(main.Placed(), real)
		got := inRegion(k.Prog.Placed(), kregions[name])
		if name == k.Name && len(want) == len(got)+1 && want[len(want)-1].Inst.Op == x86.RET {
			want = want[:len(got)] // forward's RET after the last op
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d instructions, the real build has %d", name, len(got), len(want))
			continue
		}
		for i := range got {
			g, w := got[i], want[i]
			gs, ws := g.Inst.String(), w.Inst.String()
			gb := kcode[g.Addr-0x8000 : int(g.Addr-0x8000)+g.Size]
			wb := cfg.code[w.Addr-runtime.CodeAddr : int(w.Addr-runtime.CodeAddr)+w.Size]
			external := g.Inst.Op == x86.CALL || strings.Contains(gs, "tab.")
			if gs != ws || g.Size != w.Size || (!external && !bytes.Equal(gb, wb)) {
				t.Errorf("%s: instruction %d is %s (%x), the real build's %s (%x)", name, i, gs, gb, ws, wb)
				break
			}
		}
	}
}

// Harness layout: the harness code, its data, the table for the
// handwritten code at "tab", then the kernel at "kernel" (16-aligned).
func (r *run) program(blob []byte, callee string) *x86.Program {
	cfg := r.cfg
	p := &x86.Program{}
	s := isel.Scalars()
	p.I(x86.MOV, x86.W(x86.Abs16(s.Tok)), x86.Imm(int64(r.tok)))
	p.I(x86.MOV, x86.W(x86.Abs16(s.Pos)), x86.Imm(int64(r.pos)))
	if r.layer >= 0 {
		w, c := cfg.l.LayerPointers(r.layer)
		if cfg.seg() {
			p.I(x86.MOV, x86.W(x86.Abs16(s.LayerW)), x86.Imm(int64(w)))
			p.I(x86.MOV, x86.W(x86.Abs16(s.LayerC)), x86.Imm(int64(c)))
			p.I(x86.MOV, x86.FS, x86.W(x86.Abs16(s.LayerW)))
			p.I(x86.MOV, x86.GS, x86.W(x86.Abs16(s.LayerC)))
		} else {
			p.I(x86.MOV, x86.D(x86.Abs16(s.LayerW)), x86.Imm(int64(w)))
			p.I(x86.MOV, x86.D(x86.Abs16(s.LayerC)), x86.Imm(int64(c)))
		}
	} else if !cfg.seg() {
		// Flat: the layer base the build keeps in low memory outside the
		// loop (the small matmul and rmsnorm add it to their weights
		// address): the first layer's before the loop, past the last after.
		i := 0
		for _, op := range cfg.p.Blocks[ir.PostBlock] {
			for _, o := range r.ops {
				if op == o {
					i = cfg.p.Layers
				}
			}
		}
		w, _ := cfg.l.LayerPointers(i)
		p.I(x86.MOV, x86.D(x86.Abs16(s.LayerW)), x86.Imm(int64(w)))
	}
	for i, c := range r.in {
		p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: fmt.Sprintf("in%d", i)})
		p.I(x86.MOV, x86.DI, x86.Imm(int64(c.addr)))
		p.I(x86.MOV, x86.CX, x86.Imm(int64(len(c.data))))
		p.I(x86.REP | x86.MOVSB)
	}
	for _, c := range r.fill {
		p.I(x86.MOV, x86.DI, x86.Imm(int64(c.addr)))
		p.I(x86.MOV, x86.CX, x86.Imm(int64(len(c.data))))
		p.I(x86.MOV, x86.AL, x86.Imm(0xCC))
		p.I(x86.REP | x86.STOSB)
	}
	if r.pieces != nil {
		for i := 0; i < len(r.pieces); i += 2 {
			p.I(x86.MOV, x86.BX, x86.Imm(int64(r.pieces[i])))
			p.I(x86.MOV, x86.AX, x86.Imm(int64(r.pieces[i+1])))
			p.I(x86.CALL, x86.Label(callee))
			p.I(x86.MOV, x86.DX, x86.Imm(0x3F8))
			p.I(x86.MOV, x86.AL, x86.Imm('|'))
			p.I(x86.OUT, x86.DX, x86.AL)
		}
	} else {
		p.I(x86.CALL, x86.Label(callee))
		if r.axTo != 0 {
			p.I(x86.MOV, x86.W(x86.Abs16(uint16(r.axTo))), x86.AX)
		}
	}
	for _, c := range r.out {
		switch {
		case !cfg.seg():
			p.I(x86.MOV, x86.ESI, x86.Imm(int64(c.addr)))
		case c.addr < 0x10000:
			p.I(x86.MOV, x86.SI, x86.Imm(int64(c.addr)))
		default:
			p.I(x86.MOV, x86.AX, x86.Imm(int64(c.addr>>4)))
			p.I(x86.MOV, x86.DS, x86.AX)
			p.I(x86.MOV, x86.SI, x86.Imm(int64(c.addr&15)))
		}
		p.I(x86.MOV, x86.CX, x86.Imm(int64(len(c.data))))
		p.I(x86.CALL, x86.Label("dump"))
		p.I(x86.XOR, x86.AX, x86.AX)
		p.I(x86.MOV, x86.DS, x86.AX)
	}
	p.I(x86.MOV, x86.AL, x86.Imm(0))
	p.I(x86.OUT, x86.Imm(ioport.DebugExit), x86.AL)
	p.I(x86.CLI)
	p.Label("halt")
	p.I(x86.HLT)
	p.I(x86.JMP, x86.Label("halt"))

	// dump: cx bytes at ds:si (flat: esi) as hex, then '\n'.
	p.Label("dump")
	p.I(x86.MOV, x86.DX, x86.Imm(0x3F8))
	p.Label("dump.byte")
	if cfg.seg() {
		p.I(x86.LODSB)
	} else {
		p.I(x86.A32 | x86.LODSB)
	}
	p.I(x86.MOV, x86.AH, x86.AL)
	p.I(x86.SHR, x86.AL, x86.Imm(4))
	p.I(x86.CALL, x86.Label("dump.hex"))
	p.I(x86.MOV, x86.AL, x86.AH)
	p.I(x86.AND, x86.AL, x86.Imm(15))
	p.I(x86.CALL, x86.Label("dump.hex"))
	p.I(x86.LOOP, x86.Label("dump.byte"))
	p.I(x86.MOV, x86.AL, x86.Imm('\n'))
	p.I(x86.OUT, x86.DX, x86.AL)
	p.I(x86.RET)
	p.Label("dump.hex")
	p.I(x86.CMP, x86.AL, x86.Imm(10))
	p.I(x86.SBB, x86.AL, x86.Imm(0x69))
	p.DB(0x2F) // das: 0..15 to '0'..'9', 'A'..'F'
	p.I(x86.OUT, x86.DX, x86.AL)
	p.I(x86.RET)

	if r.pieces != nil {
		// As the build's: the table's size known, its offsets biased.
		n := len(runtime.PieceData(cfg.p.Tokenizer, 0))
		runtime.EmitConsole(p, runtime.Console{Flat: !cfg.seg(), PiecesAddr: cfg.l.Pieces, PiecesBytes: n})
	}
	for i, c := range r.in {
		p.Label(fmt.Sprintf("in%d", i))
		p.DB(c.data...)
	}
	p.Align(4, 0)
	p.Label("tab")
	if r.table != nil {
		p.DB(i32bytes(r.table.Data)...)
	}
	p.Align(16, 0)
	p.Label("kernel")
	p.DB(blob...)
	return p
}

// symbols assembles the harness without a kernel (whose size moves
// nothing before it).
func (r *run) symbols() map[string]uint32 {
	p := r.program(nil, "kernel")
	if _, err := p.Assemble(runtime.CodeAddr); err != nil {
		r.t.Fatalf("harness: %v", err)
	}
	return p.Symbols()
}

func (r *run) kernelAddr([]byte) uint32 { return r.symbols()["kernel"] }

// image links the harness and a kernel with the model's data (and the
// cache contents) into a disk image.
func (r *run) image(blob []byte, callee string) ([]byte, error) {
	cfg := r.cfg
	main := r.program(blob, callee)
	data := cfg.l.Data
	if r.cache != nil {
		_, c := cfg.l.LayerPointers(r.layer)
		at := c
		if cfg.seg() {
			at = c << 4
		}
		data = append([]byte(nil), data...)
		for uint32(len(data)) < at-cfg.l.DataAddr {
			data = append(data, 0)
		}
		data = append(data, r.cache...)
	}
	return runtime.Link(nil, main, data, runtime.BootConfig{Flat: !cfg.seg(), DataAddr: cfg.l.DataAddr})
}

// Every op's standalone kernel is the real build's code, instruction for
// instruction (no QEMU or NASM needed).
func TestSmallKernelIsTheBuildsCode(t *testing.T) {
	for _, cs := range []struct{ name, file, memory string }{
		{"int8/segmented", "int8.tf", "segmented"}, {"int8/flat", "int8.tf", "flat"}, {"int16/flat", "int16.tf", "flat"},
		{"gelu-random", "../../examples/gelu-random.tf", ""}, {"mlp-random", "../../examples/mlp-random.tf", ""},
		{"untied-random", "../../examples/untied-random.tf", ""},
	} {
		t.Run(cs.name, func(t *testing.T) {
			p, err := ir.LoadFile(filepath.Join(hwDir, cs.file), ir.Options{})
			if err != nil {
				t.Fatal(err)
			}
			im, err := codegen.Build(p, []int{1}, p.Gen.Steps, codegen.Options{Memory: cs.memory})
			if err != nil {
				t.Skipf("does not build %s: %v", cs.memory, err)
			}
			if im.Generator != "small" {
				t.Skipf("built with the %s generator: %s", im.Generator, im.Note)
			}
			cfg := &config{name: cs.name, p: p, im: im, l: im.Layout, code: im.Bytes[runtime.SectorSize:]}
			n := 0
			p.Ops(func(_ int, op *ir.Op) {
				k, err := isel.SmallKernel(p, im.Layout, op)
				if err != nil {
					t.Errorf("%s: %v", isel.RegionName(op), err)
					return
				}
				checkAgainstBuild(t, cfg, k)
				n++
			})
			t.Logf("%d ops", n)
		})
	}
}
