package golden_test

import (
	"bufio"
	"bytes"
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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/codegen"
	x86 "tfc/codegen/x86_16"
	"tfc/codegen/x86_16/isel"
	"tfc/frontend"
	"tfc/ir"
	"tfc/qemu"
	"tfc/runtime"
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
	code               []byte         // the real build's main code, at runtime.CodeAddr
	loop               *codegen.Image // the loop generator's build (loopBuild)
}

func (c *config) seg() bool { return c.l.Segmented }

func loadConfig(t *testing.T, name, file, memory string) *config {
	t.Helper()
	p, err := frontend.LoadFile(filepath.Join(hwDir, file), ir.Options{})
	require.NoError(t, err)
	prompt, err := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
	require.NoError(t, err)
	im, err := codegen.Build(p, prompt, p.Gen.Steps, codegen.Options{Memory: memory, Gen: "small"})
	require.NoError(t, err)
	require.Equal(t, "small", im.Generator, "%s: the generator it was built with (%s)", file, im.Note)
	require.Equal(t, memory, im.Memory, "%s: the memory model it was built in (%s)", file, im.Note)
	cfg := &config{name: name, file: file, memory: memory, p: p, im: im, l: im.Layout,
		code: im.Bytes[im.CodeOffset:]}
	cfg.loop = loopBuild(t, cfg)
	return cfg
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
	loop           loopSize
	gap, loopGap   string
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
					loop := res.loop.op + res.loop.subs
					assert.Positive(t, res.loop.op, "%s: the loop generator's op", key)
					t.Logf("%s: loop generator %d bytes (op %d + subroutines %d: %s)", key, loop,
						res.loop.op, res.loop.subs, strings.Join(res.loop.names, ", "))
					res.loopGap = gaps["loop "+key]
					if res.loopGap == "" {
						res.loopGap = gaps["loop * "+k.name]
					}
					for _, c := range []struct {
						who, gap string
						bytes    int
					}{{"", res.gap, gen}, {"loop ", res.loopGap, loop}} {
						if c.gap == "" {
							assert.LessOrEqual(t, c.bytes, res.hw,
								"%s%s: the generated kernel's bytes, at most the handwritten one's: smaller, or list it in KNOWN_GAPS.md with the reason", c.who, key)
						}
						if c.bytes <= res.hw && c.gap != "" {
							t.Logf("%s%s: no longer a gap (generated %d <= handwritten %d): remove it from KNOWN_GAPS.md", c.who, key, c.bytes, res.hw)
						}
					}
					resultsMu.Lock()
					results = append(results, res)
					resultsMu.Unlock()
				})
			}
		}
	})
	if *update {
		require.Equal(t, len(configs)*len(kernels), len(results), "-update needs every kernel to run and pass: kernels that did")
		writeSizes(t)
	}
}

// readGaps reads KNOWN_GAPS.md: lines "- `CONFIG KERNEL`: reason", CONFIG
// "*" for every configuration.
func readGaps(t *testing.T) map[string]string {
	t.Helper()
	gaps := map[string]string{}
	f, err := os.ReadFile(filepath.Join(hwDir, "KNOWN_GAPS.md"))
	require.NoError(t, err)
	sc := bufio.NewScanner(bytes.NewReader(f))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "- `") {
			continue
		}
		rest := line[3:]
		require.Contains(t, rest, "`", "KNOWN_GAPS.md: %q: no closing backquote", line)
		i := strings.Index(rest, "`")
		reason := strings.TrimSpace(strings.TrimPrefix(rest[i+1:], ":"))
		require.NotEmpty(t, reason, "KNOWN_GAPS.md: %q gives no reason", line)
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
	writeLoopSizes(&b)
	require.NoError(t, os.WriteFile(filepath.Join(hwDir, "SIZES.md"), []byte(b.String()), 0o644))
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
		require.NotNil(t, op, "no such op in %s", cfg.file)
		var err error
		gen, err = isel.SmallKernel(cfg.p, cfg.l, op)
		require.NoError(t, err)
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
		require.NoError(t, err, "generated kernel")
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
		res.loop = loopKernel(t, cfg.p, cfg.loop, gen.Ops)
	} else {
		genCallee = runtime.PrintPiece
		for _, rg := range cfg.im.Regions {
			if rg.Name == runtime.PrintPiece {
				res.genOp = rg.Bytes
			}
		}
		for _, rg := range cfg.loop.Regions {
			if rg.Name == runtime.PrintPiece {
				res.loop.op = rg.Bytes
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
		require.NotEmpty(t, hwBlob, "%s does not end with ret", k.asm)
		require.Equal(t, byte(0xC3), hwBlob[len(hwBlob)-1], "%s does not end with ret", k.asm)
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
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = boot(img)
		}()
	}
	wg.Wait()
	for i, who := range []string{"generated", "handwritten"} {
		require.NoError(t, errs[i], who)
		r.check(who, outs[i])
	}
	assert.Equal(t, string(outs[0]), string(outs[1]), "the generated (expected) and the handwritten kernel print different outputs")
	res.checked = true
	return res
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
	require.NoError(t, err)
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
		if !assert.True(t, ok, "the real build has no region %q", name) {
			continue
		}
		want := inRegion(main.Placed(), real)
		got := inRegion(k.Prog.Placed(), kregions[name])
		if name == k.Name && len(want) == len(got)+1 && want[len(want)-1].Inst.Op == x86.RET {
			want = want[:len(got)] // forward's RET after the last op
		}
		if !assert.Equal(t, len(want), len(got), "%s: instructions (expected: the real build's)", name) {
			continue
		}
		for i := range got {
			g, w := got[i], want[i]
			gs, ws := g.Inst.String(), w.Inst.String()
			gb := kcode[g.Addr-0x8000 : int(g.Addr-0x8000)+g.Size]
			wb := cfg.code[w.Addr-runtime.CodeAddr : int(w.Addr-runtime.CodeAddr)+w.Size]
			external := g.Inst.Op == x86.CALL || strings.Contains(gs, "tab.")
			// The first difference only: the rest would follow from it.
			same := assert.Equal(t, ws, gs, "%s: instruction %d (%x), expected: the real build's (%x)", name, i, gb, wb) &&
				assert.Equal(t, w.Size, g.Size, "%s: instruction %d, %s: size (expected: the real build's)", name, i, gs)
			if same && !external {
				same = assert.Equal(t, hex.EncodeToString(wb), hex.EncodeToString(gb), "%s: instruction %d, %s: bytes (expected: the real build's)", name, i, gs)
			}
			if !same {
				break
			}
		}
	}
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
			p, err := frontend.LoadFile(filepath.Join(hwDir, cs.file), ir.Options{})
			require.NoError(t, err)
			im, err := codegen.Build(p, []int{1}, p.Gen.Steps, codegen.Options{Memory: cs.memory, Gen: "small"})
			if err != nil {
				t.Skipf("does not build %s: %v", cs.memory, err)
			}
			cfg := &config{name: cs.name, p: p, im: im, l: im.Layout, code: im.Bytes[im.CodeOffset:]}
			n := 0
			p.Ops(func(_ int, op *ir.Op) {
				k, err := isel.SmallKernel(p, im.Layout, op)
				if !assert.NoError(t, err, isel.RegionName(op)) {
					return
				}
				checkAgainstBuild(t, cfg, k)
				n++
			})
			t.Logf("%d ops", n)
		})
	}
}
