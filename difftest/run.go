package difftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"tfc/codegen"
	"tfc/frontend"
	"tfc/ir"
	"tfc/lang"
	"tfc/qemu"
)

// Config is one way to build an image: a code generator policy and a
// memory model (Gen "loop" names -Os's builds, as their listings do).
type Config struct {
	Opt    string // "s" (-Os) or "2" (-O2)
	Memory string // "segmented" or "flat"
	Gen    string // "loop" with -Os; "" with -O2
	March  string // "sse2": -march sse2
	Boot   string // "lean": the lean boot sector (-Os), else the full path
}

func (c Config) String() string {
	s := "-O" + c.Opt + "/" + c.Memory
	if c.Gen != "" {
		s = c.Gen + "/" + c.Memory
	}
	for _, x := range []string{c.March, c.Boot} {
		if x != "" {
			s += "/" + x
		}
	}
	return s
}

// Configs are the configurations every program is built and booted in.
// -Os boots through the lean sector in one memory model and the full path
// in the other.
var Configs = []Config{
	{Opt: "2", Memory: "segmented"}, {Opt: "2", Memory: "flat"},
	{Opt: "s", Memory: "flat", Gen: "loop", Boot: "lean"}, {Opt: "s", Memory: "segmented", Gen: "loop"},
	{Opt: "2", Memory: "flat", March: "sse2"}, {Opt: "2", Memory: "segmented", March: "sse2"}}

// Failure kinds: each is a compiler bug.
const (
	KindPanic    = "panic"    // the compiler or the simulator panicked
	KindBug      = "bug"      // an error that says BUG, or a message without a file:line:col
	KindMismatch = "mismatch" // the image printed or computed other than the simulator
	KindBoot     = "boot"     // the image hung, or exited other than with 0
	KindNondet   = "nondeterministic"
)

// Failure is one way a program failed.
type Failure struct {
	Kind   string
	Config string // the configuration, or "sim", "check"
	Detail string
}

func (f Failure) String() string { return fmt.Sprintf("%s [%s]: %s", f.Kind, f.Config, f.Detail) }

// ConfigResult is what one configuration did.
type ConfigResult struct {
	Config
	Built     bool
	Generator string // "loop", when built
	Why       string // why it did not build
	Booted    bool
}

// Result is the outcome of one program.
type Result struct {
	// Rejected is the compiler's message when it refused the program
	// (the checks, or the build's own checks that tfc sim runs too).
	Rejected string
	// Overflow: the simulator saw a value leave 32 bits, where the image
	// wraps; the images are built but not compared.
	Overflow string
	Configs  []ConfigResult
	Failures []Failure
	Tokens   int // tokens the simulator generated
}

// Failed says whether the program found a bug.
func (r *Result) Failed() bool { return len(r.Failures) > 0 }

// RunOptions say how to run a program.
type RunOptions struct {
	// Dir receives the program's file (a temporary directory when empty).
	Dir string
	// Configs to build and boot (default: Configs).
	Configs []Config
	// Timeout for one boot (default 1 minute).
	Timeout time.Duration
}

// Run checks one program's source, named name: the simulator's tokens and
// logits against the image of every configuration that builds.
func Run(name, src string, o RunOptions) *Result {
	res := &Result{}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "difftest-*")
		if err != nil {
			res.fail(KindBug, "setup", err.Error())
			return res
		}
		defer os.RemoveAll(d)
		dir = d
	}
	configs := o.Configs
	if configs == nil {
		configs = Configs
	}
	path := filepath.Join(dir, name+".tf")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		res.fail(KindBug, "setup", err.Error())
		return res
	}

	// The front end, and the checks that tfc sim and tfc check make.
	var p *ir.Program
	var prompt []int
	if !res.guard("check", func() error {
		var err error
		if p, err = frontend.LoadFile(path, ir.Options{}); err != nil {
			return err
		}
		if prompt, err = p.PromptTokens(); err != nil {
			return err
		}
		return codegen.Check(p, prompt, p.Gen.Steps, codegen.Options{})
	}) {
		return res
	}

	// The reference: the simulator's text, tokens and logits.
	var want bytes.Buffer
	rec := &recorder{sim: ir.NewSim(p)}
	if !res.guard("sim", func() error {
		toks, err := ir.Generate(rec, p.Tokenizer, prompt, p.Gen.Steps, &want)
		res.Tokens = len(toks)
		return err
	}) {
		return res
	}
	if rec.sim.Overflow != nil {
		res.Overflow = rec.sim.Overflow.Error()
	}

	for _, c := range configs {
		cr := ConfigResult{Config: c}
		res.config(&cr, p, prompt, path, want.Bytes(), rec, o)
		res.Configs = append(res.Configs, cr)
	}
	return res
}

func (r *Result) fail(kind, config, detail string) {
	r.Failures = append(r.Failures, Failure{kind, config, detail})
}

// guard runs f, turning a panic into a failure and an error into a
// rejection (or, without a position or with BUG in it, a failure). It
// reports whether f succeeded.
func (r *Result) guard(what string, f func() error) (ok bool) {
	defer func() {
		if x := recover(); x != nil {
			r.fail(KindPanic, what, fmt.Sprintf("%v\n%s", x, firstLines(string(debug.Stack()), 12)))
			ok = false
		}
	}()
	err := f()
	if err == nil {
		return true
	}
	if why := badMessage(err); why != "" {
		r.fail(KindBug, what, why+": "+err.Error())
		return false
	}
	r.Rejected = err.Error()
	return false
}

// badMessage says what is wrong with an error message the user would see,
// or "": it must say where (file:line:col) and must not be a BUG.
func badMessage(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "BUG") {
		return "an internal error"
	}
	var le *lang.Error
	if !errors.As(err, &le) || le.Pos.Line == 0 {
		return "a message without file:line:col"
	}
	return ""
}

// config builds, boots and compares one configuration.
func (r *Result) config(cr *ConfigResult, p *ir.Program, prompt []int, path string, want []byte, rec *recorder, o RunOptions) {
	c := cr.Config
	var im *codegen.Image
	built := func() (err error) {
		defer func() {
			if x := recover(); x != nil {
				r.fail(KindPanic, c.String(), fmt.Sprintf("%v\n%s", x, firstLines(string(debug.Stack()), 12)))
				err = errPanicked
			}
		}()
		im, err = codegen.Build(p, prompt, p.Gen.Steps, codegen.Options{Opt: c.Opt, Memory: c.Memory, Gen: c.Gen, March: c.March, Boot: c.Boot, Trace: true})
		return err
	}()
	if built == errPanicked {
		return
	}
	if built != nil {
		// A configuration may not take a model (it does not fit that
		// memory model): that is a limit, said in a message, not a bug.
		if strings.Contains(built.Error(), "BUG") {
			r.fail(KindBug, c.String(), built.Error())
		}
		cr.Why = built.Error()
		return
	}
	cr.Built, cr.Generator = true, im.Generator
	if !qemu.Available() {
		return
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	dir := filepath.Dir(path)
	img := filepath.Join(dir, "img-"+c.Opt+c.Memory+c.Gen+c.March+c.Boot)
	dc := img + ".debugcon"
	defer os.Remove(img)
	defer os.Remove(dc)
	if err := os.WriteFile(img, im.Bytes, 0o644); err != nil {
		r.fail(KindBug, c.String(), err.Error())
		return
	}
	res, err := qemu.Boot(context.Background(), img, qemu.Options{Timeout: timeout, Debugcon: dc, MemoryMiB: im.MemoryMiB()})
	if err != nil {
		r.fail(KindBoot, c.String(), err.Error())
		return
	}
	cr.Booted = true
	if res.ExitCode != 0 {
		r.fail(KindBoot, c.String(), fmt.Sprintf("exit code %d (QEMU status %d), printed %q", res.ExitCode, res.Status, res.Serial))
		return
	}
	if r.Overflow != "" {
		return // the image wraps where the simulator did not: nothing to compare
	}
	// The trace first: it says where the image left the simulator.
	raw, err := os.ReadFile(dc)
	if err != nil {
		r.fail(KindBug, c.String(), err.Error())
		return
	}
	trace, err := codegen.ParseTrace(raw, p.Vocab)
	if err != nil {
		r.fail(KindMismatch, c.String(), "trace: "+err.Error())
		return
	}
	if d := rec.compare(trace); d != "" {
		r.fail(KindMismatch, c.String(), d)
		return
	}
	if !bytes.Equal(res.Serial, want) {
		r.fail(KindMismatch, c.String(), fmt.Sprintf("printed %q, the simulator %q", res.Serial, want))
	}
}

var errPanicked = errors.New("panicked")

// recorder keeps the simulator's logits and choice at every step.
type recorder struct {
	sim    *ir.Sim
	logits [][]int32
	tokens []int
}

func (r *recorder) Step(token, pos int) int {
	next := r.sim.Step(token, pos)
	r.logits = append(r.logits, r.sim.RawLogits())
	r.tokens = append(r.tokens, next)
	return next
}

// compare says where the image's trace leaves the simulator's, or "".
func (r *recorder) compare(trace []codegen.TraceStep) string {
	for s, st := range trace[:min(len(trace), len(r.logits))] {
		for i, w := range r.logits[s] {
			if st.Logits[i] != w {
				return fmt.Sprintf("step %d, logit %d: image %d, simulator %d", s, i, st.Logits[i], w)
			}
		}
		if st.Token != r.tokens[s] {
			return fmt.Sprintf("step %d: image chose %d, simulator %d", s, st.Token, r.tokens[s])
		}
	}
	if len(trace) != len(r.logits) {
		return fmt.Sprintf("the image ran %d forward passes, the simulator %d", len(trace), len(r.logits))
	}
	return ""
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
