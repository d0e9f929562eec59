package golden_test

import (
	"bufio"
	"bytes"
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
	"tfc/frontend"
	"tfc/ir"
	"tfc/qemu"
	"tfc/runtime"
)

var update = flag.Bool("update", false, "rewrite testdata/handwritten/SIZES.md")

const hwDir = "../../testdata/handwritten"

// scratch is low memory the handwritten kernels may use (below the vars,
// above the scalars of the layout they were written for: layout_test.go).
const scratch = 0x580

// config is a model in one memory model: laid out for the handwritten
// kernels, and built by the loop code generator.
type config struct {
	name, file, memory string
	p                  *ir.Program
	l                  *Layout        // the handwritten kernels' memory map
	loop               *codegen.Image // the loop generator's build (loopBuild)
	console            runtime.Console
}

func (c *config) seg() bool { return c.l.Segmented }

func loadConfig(t *testing.T, name, file, memory string) *config {
	t.Helper()
	p, err := frontend.LoadFile(filepath.Join(hwDir, file), ir.Options{})
	require.NoError(t, err)
	prompt, err := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
	require.NoError(t, err)
	// The table's size: flat, first at FlatDataAddr; segmented, 16-bit
	// offsets wherever it goes.
	flat := memory != "segmented"
	pieces := runtime.PieceConsole(flat, FlatDataAddr, p.Tokenizer).PieceTable(p.Tokenizer)
	l, err := NewLayout(p, LayoutOptions{Segmented: !flat}, pieces, prompt)
	require.NoError(t, err, "%s %s", file, memory)
	// The console's table as print_piece reads it (its offsets biased).
	console := runtime.PieceConsole(flat, l.Pieces, p.Tokenizer)
	table := console.PieceTable(p.Tokenizer)
	require.Len(t, table, len(pieces), "piece table at %#x", l.Pieces)
	copy(l.Data[l.Pieces-l.DataAddr:], table)
	cfg := &config{name: name, file: file, memory: memory, p: p, l: l, console: console}
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
	hw             int
	loop           loopSize
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
					gen := res.loop.op + res.loop.subs
					assert.Positive(t, res.loop.op, "%s: the generated op", key)
					t.Logf("%s: generated %d bytes (op %d + subroutines %d: %s), handwritten %d", key, gen,
						res.loop.op, res.loop.subs, strings.Join(res.loop.names, ", "), res.hw)
					if res.gap == "" {
						assert.LessOrEqual(t, gen, res.hw,
							"%s: the generated kernel's bytes, at most the handwritten one's: smaller, or list it in KNOWN_GAPS.md with the reason", key)
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
each handwritten kernel (` + "`*.asm`" + ` here, ` + "`nasm -f bin`" + `) in QEMU on random inputs
and check what it computes against the simulator's arithmetic, and count
the code of the same ops in the loop code generator's build of the same
model (` + "`int8.tf`" + ` segmented, ` + "`int16.tf`" + ` flat).

What is counted, in bytes of code:

- generated: the regions of the kernel's ops (as ` + "`tfc size`" + ` names them, with
  the arguments after their calls; without forward's ` + "`ret`" + ` after the last
  op) plus what their calls reach of the procedures and subroutines: the
  kernel as it would be alone in a program (only the instructions it can
  reach count, not the entries of ` + "`rshr`" + ` for other kernels' shift counts).
  A real build shares the procedures and subroutines between ops, so their
  share per op there is smaller. The generated code runs within the whole
  image, which the image tests boot against ` + "`tfc sim`" + `.
- ` + "`print_piece`" + `: the runtime's (runtime/console.go), as a real build links it.
- handwritten: the whole file, without its final ` + "`ret`" + ` (the generated
  op's code has none: it falls into the next op's); for ` + "`print_piece`" + `,
  a subroutine on both sides, with it.
- Tables (exp, gate, RoPE) and other data are not code and not counted.

A generated kernel larger than the handwritten one fails the test unless
KNOWN_GAPS.md lists it. The column "without shared" leaves out the
subroutines that every kind of kernel shares (` + "`rshr`" + ` and the ` + "`lookup`" + `
routines), for comparison only.

| config | kernel | generated | = op + subroutines | without shared | handwritten | generated − handwritten | known gap |
| --- | --- | ---: | --- | ---: | ---: | ---: | --- |
`)
	all, own, hw := 0, 0, 0
	for _, r := range results {
		g := r.loop.op + r.loop.subs
		subs := ""
		if len(r.loop.names) > 0 {
			subs = " + " + strings.Join(r.loop.names, " + ")
		}
		gap := ""
		if r.gap != "" {
			gap = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d%s | %d | %d | %+d | %s |\n", r.config, r.kernel, g, r.loop.op, subs, g-r.loop.helpers, r.hw, g-r.hw, gap)
		all += g
		own += g - r.loop.helpers
		hw += r.hw
	}
	fmt.Fprintf(&b, "| all | | %d | | %d | %d | %+d | |\n", all, own, hw, all-hw)
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

// runKernel prepares the inputs, runs the handwritten kernel in QEMU and
// checks what it prints against the simulator's arithmetic, and counts
// the loop generator's code for the same ops.
func runKernel(t *testing.T, cfg *config, k kernel) result {
	res := result{config: cfg.name, kernel: k.name}
	r := &run{t: t, cfg: cfg, rng: rand.New(rand.NewPCG(seedOf(cfg.name+" "+k.name), 1)), layer: -1,
		defs: map[string]int64{}}
	if k.op != nil {
		op := k.op(cfg.p)
		require.NotNil(t, op, "no such op in %s", cfg.file)
		r.ops = kernelOps(cfg.p, op)
		for _, o := range r.ops {
			if o.Kind == ir.Store || o.Kind == ir.Attention || inLayer(cfg.p, o) {
				r.layer = min(1, cfg.p.Layers-1)
			}
		}
		res.loop = loopKernel(t, cfg.p, cfg.loop, r.ops)
	} else {
		for _, rg := range cfg.loop.Regions {
			if rg.Name == runtime.PrintPiece {
				res.loop.op = rg.Bytes
			}
		}
	}
	k.prep(r)
	s := scalars()
	for n, v := range map[string]int64{"TOK": int64(s.Tok), "POS": int64(s.Pos), "NEXT": int64(s.Next),
		"LAYERW": int64(s.LayerW), "LAYERC": int64(s.LayerC), "SCRATCH": scratch} {
		r.def(n, v)
	}
	if cfg.seg() {
		r.def("FLAT", 0)
	} else {
		r.def("FLAT", 1)
	}

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
	img, err := r.image(hwBlob, "kernel")
	require.NoError(t, err)
	out, err := boot(img)
	require.NoError(t, err, "handwritten")
	r.check("handwritten", out)
	res.checked = true
	return res
}

func inLayer(p *ir.Program, op *ir.Op) bool {
	for _, o := range p.Blocks[ir.LayerBlock] {
		if o == op {
			return true
		}
	}
	return false
}
