package codegen_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/codegen"
	x86 "tfc/codegen/x86_16"
	"tfc/difftest"
	"tfc/frontend"
	"tfc/ir"
	"tfc/qemu"
)

// Attention over more positions than a 32-bit sum of softmax weights
// holds: -Os and -O2 divide by a sum past 32 bits exactly (difftest.BigSumSource: 1100 positions of
// equal scores), and the image equals the simulator at every step.
func TestAttentionSumPast32BitsBoots(t *testing.T) {
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	t.Parallel()
	r := difftest.Run("bigsum", difftest.BigSumSource(), difftest.RunOptions{Timeout: 2 * time.Minute,
		Configs: []difftest.Config{{Opt: "s", Memory: "flat"}, {Opt: "2", Memory: "flat"}}})
	require.Empty(t, r.Rejected, "refused")
	for _, f := range r.Failures {
		assert.Fail(t, f.String())
	}
	assert.GreaterOrEqual(t, r.Tokens, 1025, "positions the simulator ran")
	for _, cr := range r.Configs {
		assert.Equal(t, "loop", cr.Generator, "%v: generator (built %v, booted %v)", cr.Config, cr.Built, cr.Booted)
		assert.True(t, cr.Booted, "%v: booted (built %v, %s)", cr.Config, cr.Built, cr.Generator)
	}
}

// The loop generator runs each op's kernel where forward is, not as a
// subroutine: each op runs from one place. Calls remain for the size
// policy's procedures and the runtime.
func TestOpsRunInPlace(t *testing.T) {
	p, err := frontend.LoadFile(path("gelu-random"), ir.Options{})
	require.NoError(t, err)
	for _, o := range []codegen.Options{{Gen: "loop", Memory: "flat"}, {Opt: "2", Memory: "flat"}} {
		im, err := codegen.Build(p, []int{ir.BOS}, 8, o)
		require.NoError(t, err)
		calls := 0
		for _, pl := range im.Main.Placed() {
			if pl.Inst.Op != x86.CALL {
				continue
			}
			calls++
			if l, ok := pl.Inst.Args[0].(x86.Label); ok {
				assert.False(t, strings.HasPrefix(string(l), "op"), "%+v: call %s", o, l)
			}
		}
		assert.NotZero(t, calls, "%+v: no calls at all (the runtime's)", o)
	}
}

// The size policy outlines in the segmented model too: a proc reaches the
// buffers it is passed through their segments, which it loads at its
// entry. A caller that holds a segment register across a call (it loaded
// its own at its entry and uses it after) has the proc push each segment
// register it loads and pop them before it returns; untied-sampled's ops
// that call procs hold none, so its procs push nothing, and one passed a
// segment in a register (its norm: after the layer loop, the
// activations', not what the layer's slot then holds) loads it first of
// all. ES holds the activations' segment (the sampler reads them after
// the layer loop: no pin takes ES), which forward loads at its entry and
// no kernel or proc loads again.
func TestSegmentedProcsKeepSegments(t *testing.T) {
	p, err := frontend.LoadFile(untiedSampled(t), ir.Options{})
	require.NoError(t, err)
	im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Gen: "loop", Memory: "segmented"})
	require.NoError(t, err)
	procs, loading, fromArg := 0, 0, 0
	first := false
	var loaded, pushed, popped []string
	in := false
	esLoads := 0
	// A proc ends with its ret, or where it falls into the next
	// (TestProcFallsIntoTheNext).
	end := func() {
		in = false
		if len(loaded) > 0 {
			loading++
		}
		assert.NotContains(t, loaded, "es", "proc %d", procs)
		assert.Empty(t, pushed, "proc %d: segments pushed", procs)
		assert.Equal(t, pushed, popped, "proc %d: pushed, popped in reverse", procs)
	}
	// A prologue copies its params through ax (copyParams:
	// TestCopyParamsThroughAX) and attention fills its sums through DS
	// (fillWords: TestActivationsInSegmentZero): neither swaps ES for DS.
	listing := im.Main.Listing()
	require.True(t, strings.Contains(listing, "mov word [0x3802], ax"), "a prologue's copy")
	assert.False(t, regexp.MustCompile(`push ds\n\s+pop es\n`).MatchString(listing), "ES set to DS")
	for _, line := range strings.Split(listing, "\n") {
		f := strings.Fields(strings.ReplaceAll(line, ",", ""))
		if len(f) > 1 && (f[0] == "mov" || f[0] == "pop") && f[1] == "es" {
			esLoads++
		}
		if in && first && len(f) > 0 {
			first = false
			if len(f) == 3 && f[0] == "mov" && isSeg(f[1]) && f[2] == "ax" {
				fromArg++
			}
		}
		switch {
		case len(f) == 1 && strings.HasPrefix(f[0], "proc") && strings.HasSuffix(f[0], ":") && !strings.Contains(f[0], "."):
			if in {
				end()
			}
			in, procs = true, procs+1
			loaded, pushed, popped = nil, nil, nil
			first = true
			continue
		case !in || len(f) == 0:
		case f[0] == "push" && len(f) == 2 && isSeg(f[1]):
			pushed = append(pushed, f[1])
		case f[0] == "pop" && len(f) == 2 && isSeg(f[1]):
			popped = append([]string{f[1]}, popped...) // reversed
		case f[0] == "mov" && len(f) > 1 && isSeg(f[1]):
			loaded = append(loaded, f[1])
		case f[0] == "ret":
			end()
		}
	}
	// The norm's and the matmul's (rope's, of one call, is inlined).
	assert.GreaterOrEqual(t, procs, 2, "procs")
	assert.GreaterOrEqual(t, loading, 2, "procs that load segments")
	// One passed its segment in a register (ax) loads it before anything
	// else: its copy, which lodsw would need out of eax, goes.
	assert.GreaterOrEqual(t, fromArg, 1, "procs whose first instruction loads a segment from ax")
	// forward's entry alone: the generation loop reads the token it
	// chose through the ES forward leaves.
	assert.Equal(t, 1, esLoads, "loads of es:\n%s", im.Main.Listing())
}

func isSeg(r string) bool { return r == "es" || r == "fs" || r == "gs" }

// The size policy's calls pass the constants a proc takes after the call,
// as data (bytes, words, or dwords where a value needs them), where that
// saves bytes: the proc pops its return address, reads them with lodsd,
// lodsb and lodsw (dwords first, then bytes, so that one xor eax, eax
// after the dwords clears what lodsb and lodsw leave), and pushes the
// address past them.
// mlp-random's matmuls: five calls of one proc (q, k and v one of them:
// rowRun), whose columns are under 256 in every call.
func TestCallsPassConstantsAfter(t *testing.T) {
	p, err := frontend.LoadFile(path("mlp-random"), ir.Options{})
	require.NoError(t, err)
	for _, memory := range []string{"segmented", "flat"} {
		im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Gen: "loop", Memory: memory})
		require.NoError(t, err)
		lines := strings.Split(im.Main.Listing(), "\n")
		calls := map[string]int{} // by the region's count (some calls fall in: TestProcFallsIntoTheNext)
		for _, line := range lines {
			var pr string
			var n int
			if k, _ := fmt.Sscanf(strings.TrimSpace(line), "; region proc %s (%d calls)", &pr, &n); k == 2 {
				calls[pr] = n
			}
		}
		most := ""
		for pr, n := range calls {
			if most == "" || n > calls[most] || n == calls[most] && pr < most {
				most = pr
			}
		}
		require.GreaterOrEqual(t, calls[most], 5, "%s: calls of %s", memory, most)
		// The proc's prologue: pop si, a lodsw or lodsd for each argument
		// (each a move from eax after it), push si.
		data := -1
		for i, line := range lines {
			if strings.TrimSpace(line) != most+":" {
				continue
			}
			var body []string
			for _, l := range lines[i+1:] {
				body = append(body, strings.TrimSpace(l))
				if strings.HasPrefix(body[len(body)-1], "push si") {
					break
				}
			}
			require.Contains(t, body, "pop si", "%s: %s", memory, most)
			// The params it keeps in their slots are copied there
			// (copyParams: movsw; segmented, where ES is not DS,
			// through ax into packed words), bytes among them, which it
			// then reads as bytes.
			copies := count(body, "movsb") + 2*count(body, "movsw")
			data = count(body, "lodsb") + 2*count(body, "lodsw") + 4*count(body, "lodsd") + copies
			packed := slices.Contains(body, "mov word [0x3800], ax") && slices.Contains(body, "mov word [0x3802], ax")
			assert.True(t, copies > 0 || packed, "%s: %s copies", memory, most)
			assert.True(t, count(body, "lodsb") > 0 || strings.Contains(procBody(t, im.Main.Listing(), most), "byte [0x38"),
				"%s: %s reads no byte", memory, most)
			word := slices.Index(body, "lodsw")
			assert.True(t, word < 0 || !slices.Contains(body[word:], "lodsb"), "%s: %s reads a byte after a word:\n%s", memory, most, strings.Join(body, "\n"))
			narrow := slices.IndexFunc(body, func(l string) bool { return l == "lodsb" || l == "lodsw" })
			assert.True(t, narrow < 0 || !slices.Contains(body[narrow:], "lodsd"), "%s: %s reads a dword after a byte or a word:\n%s", memory, most, strings.Join(body, "\n"))
			clears := count(body, "xor eax, eax") + count(body, "xor ax, ax")
			assert.LessOrEqual(t, clears, 1, "%s: %s", memory, most)
			if count(body, "lodsb") > 0 {
				assert.Equal(t, 1, clears, "%s: %s", memory, most)
			}
		}
		require.Greater(t, data, 0, "%s: %s's data", memory, most)
		for i, line := range lines {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "call" && f[1] == most {
				db := strings.Fields(strings.ReplaceAll(strings.TrimSpace(lines[i+1]), ",", ""))
				require.NotEmpty(t, db, "%s: after a call of %s", memory, most)
				assert.Equal(t, "db", db[0], "%s: after a call of %s", memory, most)
				assert.Len(t, db[1:], data, "%s: bytes after a call of %s", memory, most)
			}
		}
	}
}

func count(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if l == s {
			n++
		}
	}
	return n
}

// A proc's segment param that every call leaves in the layer's slot
// (the layer's segment in the layer loop; after it, the final norm's and
// logits', which the layout puts where the slot then points) is read by
// the proc from the slot, and no call passes it: llama2-int8.tf's norm
// and matmul procs, and untied-random.tf's, whose final norm's weights
// the layout puts in its classifier's segment, the one that follows the
// layers' params (layerFedGlobals). The images, booted, print what tfc
// sim prints (TestMatrix).
func TestCallsLeaveLayerSegmentsInSlots(t *testing.T) {
	for _, name := range []string{"llama2-int8", "untied-random"} {
		listing := segmentedListing(t, name)
		assert.NotRegexp(t, `mov ax, (word \[0x1004\]|0x[0-9a-f]+|fs)\n\s+call proc\d+\n\s+db`, listing, name)
		// FS holds the slot's segment (TestLayerSlotsPinned): neither
		// proc loads a segment register.
		for _, pr := range []string{"proc0", "proc1"} {
			body := procBody(t, listing, pr)
			assert.Contains(t, body, "[fs:", name, pr)
			assert.NotRegexp(t, `mov [fg]s, `, body, name, pr)
		}
	}
}

// generate stores a global group's segment in its slot only where some
// code reads the slot (dropUnreadSegs): untied-random.tf's classifier,
// whose segment FS holds after the layer loop, has none; untied-sampled's
// (TestLayerSlotsPinned: FS is not pinned there) has one.
func TestSegSlotsStoredAreRead(t *testing.T) {
	stores := 0
	for _, name := range []string{path("llama2-int8"), path("untied-random"), path("mha-random"), path("gpt2-random"), untiedSampled(t)} {
		listing := fileListing(t, name, "segmented")
		gen := regexp.MustCompile(`(?s)\ngenerate:\n.*?\n; region`).FindString(listing)
		require.NotEmpty(t, gen, name)
		for _, m := range regexp.MustCompile(`mov word \[(0x10[1-3][0-9a-f])\], 0x[0-9a-f]+\n`).FindAllStringSubmatch(gen, -1) {
			slot, err := strconv.ParseUint(m[1], 0, 16)
			require.NoError(t, err)
			if slot < 0x101c || slot >= 0x1040 {
				continue
			}
			assert.Equal(t, 1, strings.Count(listing, m[0]), "%s: %s stored once", name, m[1])
			assert.Greater(t, strings.Count(listing, "["+m[1]+"]"), 1, "%s: %s stored and never read", name, m[1])
			stores++
		}
	}
	assert.Equal(t, 1, stores, "the slots stored")
}

// The norm's param that it spills across its square root (llama2.tf's
// destination, llama2-int8.tf's) waits on the stack: pushed after the
// prologue gives the return address back (push si), popped once before
// the norm's last loop, where a store and a load in each of its passes
// kept it in a spill slot (prologuePair, regalloc.HoistLoads).
func TestNormParamOnStack(t *testing.T) {
	for _, c := range []struct{ name, memory string }{{"llama2", "flat"}, {"llama2-int8", "segmented"}} {
		body := procBody(t, loopListing(t, c.name, c.memory), "proc0")
		// (From its register, or its bytes in the data: its call's, or
		// the matmul's, TestNormReadsTheMatmulsData.)
		assert.Regexp(t, `\n\s+push si\n\s+push (ax|word \[si[-+]0x[0-9a-f]\])\n`, body, c.name)
		assert.Regexp(t, `\n\s+pop bp\nproc0\.loop\d+:\n`, body, c.name)
		assert.Equal(t, 2, strings.Count(body, "pop "), c.name) // pop si, pop bp
		assert.NotContains(t, body, "[0x38", c.name)
	}
}

// procBody is the listing's lines of proc name, to the next region.
func procBody(t *testing.T, listing, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?ms)^` + name + `:\n(.*?)\n; region`).FindStringSubmatch(listing)
	require.NotNil(t, m, "%s in the listing", name)
	return m[1]
}

// The layer slots of the segmented model live in segment registers from
// the layer loop on (pinSlots): the loop sets them (push imm16; pop fs)
// and steps them (mov ax, fs; add ax, imm16; mov fs, ax; cmp ax, end),
// and no code reads their words. The caches' slot takes ES where nothing
// there reaches the activations' group through it, else GS (the
// samplers of mha-random and untied-sampled read it after the loop).
// Where a proc adds the params' slot to an offset it is passed
// (gpt2-random's matmuls: add ax, [0x1004]), or needs FS for another
// segment (untied-sampled's norm, passed the activations' after the loop:
// a PinError, and the build selects again), the params' slot stays a word
// and only the caches' is pinned. The images boot equal to tfc sim
// (TestMatrix, which boots each example so). The size policy's alone.
func TestLayerSlotsPinned(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		file   string
		caches string // the caches' register
		fs     bool   // the params' slot in FS
	}{
		{path("mlp-random"), "es", true}, {path("llama2-int8"), "es", true}, {path("gpt2-random"), "es", false},
		{path("untied-random"), "es", true}, {path("mha-random"), "gs", false}, {untiedSampled(t), "gs", false},
	} {
		for _, opt := range []string{"s", "2"} {
			p, err := frontend.LoadFile(c.file, ir.Options{})
			require.NoError(t, err)
			im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Gen: "loop", Memory: "segmented", Opt: opt})
			require.NoError(t, err)
			l := im.Main.Listing()
			what := filepath.Base(c.file) + " -O" + opt
			if opt == "2" {
				assert.NotRegexp(t, `pop [fg]s\n|mov es, ax\n`, l, "%s: the size policy's alone", what)
				continue
			}
			assert.Regexp(t, `push 0x[0-9a-f]+\n\s+pop `+c.caches+`\n`, l, what)
			assert.Regexp(t, `mov ax, `+c.caches+`\n\s+add ax, 0x[0-9a-f]+\n\s+mov `+c.caches+`, ax\n`, l, what)
			assert.NotContains(t, l, "[0x1008]", what)
			if c.caches == "es" {
				assert.NotRegexp(t, `pop gs\n`, l, "%s: GS left to the kernels", what)
			}
			if c.fs {
				assert.Regexp(t, `push 0x[0-9a-f]+\n\s+pop fs\n`, l, what)
				assert.Regexp(t, `mov ax, fs\n\s+add ax, 0x[0-9a-f]+\n\s+mov fs, ax\n\s+cmp ax, 0x[0-9a-f]+\n\s+jne`, l, what)
				assert.NotContains(t, l, "[0x1004]", what)
			} else {
				assert.Regexp(t, `mov word \[0x1004\], 0x[0-9a-f]+\n`, l, what)
				assert.Regexp(t, `cmp (byte|word) \[0x100[45]\], -?0x[0-9a-f]+\n\s+jne`, l, what)
			}
		}
	}
}

// A segment that a kernel only passes to procs, which use it only as a
// segment, is passed as its slot's word (mov ax, [slot]: 3 bytes, where
// movzx eax takes 5): untied-sampled's norms, passed their layer's
// segment (its final norm's, after the layer loop, the activations', is
// not what the layer's slot then holds: TestCallsLeaveLayerSegmentsInSlots); the
// activations' segment, a constant, as an immediate word (mov ax, imm16,
// where mov eax, imm32 takes 6), and no code reads or stores its slot
// (forward: push imm16, pop es).
func TestCallsPassSegmentsAsWords(t *testing.T) {
	listing := fileListing(t, untiedSampled(t), "segmented")
	assert.Regexp(t, `mov ax, word \[0x1004\]\n\s+call proc`, listing)
	assert.Regexp(t, `mov ax, 0x[0-9a-f]+\n\s+call proc`, listing)
	assert.NotRegexp(t, `movzx eax, word \[0x1004\]\n\s+call proc`, listing)
	assert.NotContains(t, listing, "[0x101c]", "the activations' slot")
	assert.Regexp(t, `forward:\n\s+push 0x[0-9a-f]+\n\s+pop es\n`, listing)
}

// A proc's register argument that every call passes as a constant below
// 0x10000 is the register's low word (mov ax, imm16: 3 bytes, where mov
// eax, imm32 takes 6), which the proc zero-extends where it reads the
// upper half (movzx) and moves (or exchanges) where it does not:
// mha-random.tf's rope, called for q and for k; the image, booted, still
// prints what tfc sim prints (TestMatrix).
func TestCallsPassConstantWords(t *testing.T) {
	listing := segmentedListing(t, "mha-random")
	assert.NotRegexp(t, `mov e[a-d]x, 0x[0-9a-f]{1,4}\n\s+call proc`, listing)
	// The ropes pass their vectors' places, two words.
	words := map[string]map[string]bool{}
	for _, c := range regexp.MustCompile(`mov ax, (0x[0-9a-f]{4})\n\s+call (proc\d+)\n`).FindAllStringSubmatch(listing, -1) {
		if words[c[2]] == nil {
			words[c[2]] = map[string]bool{}
		}
		words[c[2]][c[1]] = true
	}
	add := ""
	for pr, w := range words {
		if len(w) == 2 {
			add = pr
		}
	}
	require.NotEmpty(t, add, "a proc passed two words: %v", words)
	assert.Regexp(t, `\n`+add+`:\n\s+(mov [a-ds][xip], ax|xchg [a-ds][xip], ax|movzx e[a-ds][xip], ax)\n`, listing)
}

// forward returns the next token in ax, where its last op ends with the
// token's store: the kernel moves it there and returns, and the
// generation loop reads no buffer after its call (at -Os and -O2). With
// the logits' trace, which reads the buffer after the op, the store and
// the read stay. The images, booted, print what tfc sim prints
// (TestMatrix; TestTrace compares the trace).
func TestForwardReturnsNext(t *testing.T) {
	p, err := frontend.LoadFile(path("mlp-random"), ir.Options{})
	require.NoError(t, err)
	read := `call forward\n\s+mov ax, word \[`
	for _, o := range []codegen.Options{{Gen: "loop"}, {Opt: "2"}, {Gen: "loop", Memory: "flat"}} {
		im, err := codegen.Build(p, []int{ir.BOS}, 8, o)
		require.NoError(t, err)
		listing := im.Main.Listing()
		assert.NotRegexp(t, read, listing, "%+v", o)
		assert.Regexp(t, `(?m)^; region argmax next\n(?:[^;].*\n)*?\s+(?:mov ax, [a-ds][xip]\n\s+)?ret\n`, listing, "%+v", o)
		o.Trace = true
		im, err = codegen.Build(p, []int{ir.BOS}, 8, o)
		require.NoError(t, err)
		assert.Regexp(t, read, im.Main.Listing(), "%+v, traced", o)
	}
}

// In the segmented model an offset alone is a 16-bit address ([es:0xad10],
// no 0x67 prefix and a word of displacement), both in kernels (a scratch
// slot in low memory, attention's running maximum at [0x1110]; at -O2 the
// matmul's unrolled rows, [es:0xa618]) and in the generation loop (the
// token it reads);
// the image, booted, still prints what tfc sim prints (TestMatrix).
func TestSegmentedOffsetsAreShort(t *testing.T) {
	p, err := frontend.LoadFile(path("mlp-random"), ir.Options{})
	require.NoError(t, err)
	for _, c := range []struct {
		gen    codegen.Options
		offset string
	}{
		{codegen.Options{Gen: "loop", Memory: "segmented"}, `dword \[0x[0-9a-f]{4}\]`},
		{codegen.Options{Gen: "loop", Memory: "segmented", Opt: "2"}, `\[es:0x[0-9a-f]+\]`},
	} {
		im, err := codegen.Build(p, []int{ir.BOS}, 8, c.gen)
		require.NoError(t, err)
		listing := im.Main.Listing()
		assert.Regexp(t, c.offset, listing, "%+v", c.gen)
		assert.NotRegexp(t, `\[([a-z]s:)?dword 0x[0-9a-f]{1,4}\]`, listing, "%+v", c.gen)
	}
}

// For size, a proc's loop that counts to a param every call passes as a
// constant below 0x8000 steps and compares 16 bits, or counts its word
// down (the count's low word: no 0x66 prefix); at -O2, all 32.
func TestProcLoopsCountToParamsInWords(t *testing.T) {
	p, err := frontend.LoadFile(path("mlp-random"), ir.Options{})
	require.NoError(t, err)
	const short = `(?m)^\s+(inc [a-ds][xpi]\n\s+cmp [a-ds][xpi], word \[0x[0-9a-f]+\]\n\s+jl |dec word \[0x[0-9a-f]+\]\n\s+jne )`
	for _, o := range []codegen.Options{{Gen: "loop"}, {Opt: "2"}} {
		im, err := codegen.Build(p, []int{ir.BOS}, 8, o)
		require.NoError(t, err)
		if o.Opt == "" {
			assert.Regexp(t, short, im.Main.Listing())
		} else {
			assert.NotRegexp(t, short, im.Main.Listing())
		}
	}
}

// The size policy selects each kernel's rounding shifts of an i64 also as
// calls of one shared routine, at its entry for the count (call rshr.n),
// and keeps that where the kernel comes out smaller: mlp-random's image
// has the routine once, an entry for each count it calls from two places
// or more (mov cl, n, and a skip over the next entry's), and calls them;
// a count called from one place sets cl there (mov cl, n; call rshr: a
// byte fewer than an entry and its call). The speed policy's has none. A
// shift by a count in cl calls the routine itself. The lookup routine
// shifts by its fraction's bits itself, and adds the first entry with the
// shift's carry: no call, and cl left alone (a call of it keeps ecx).
func TestRshrRoutine(t *testing.T) {
	p, err := frontend.LoadFile(path("mlp-random"), ir.Options{})
	require.NoError(t, err)
	im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Gen: "loop"})
	require.NoError(t, err)
	listing := im.Main.Listing()
	assert.Equal(t, 1, strings.Count(listing, "\nrshr:\n    shrd eax, edx, cl\n    adc eax, 0x0\n    ret\n"), "the routine:\n%s", listing)
	calls := regexp.MustCompile(`call rshr\.(\d+)\n`).FindAllStringSubmatch(listing, -1)
	require.NotEmpty(t, calls, "no call of an entry:\n%s", listing)
	for _, c := range calls {
		n, _ := strconv.Atoi(c[1])
		assert.Regexp(t, fmt.Sprintf(`\nrshr\.%d:\n    mov cl, %#x\n(    db 0x3d\n|rshr:)`, n, n), listing)
		from := regexp.MustCompile(`(?m)^\s+(call|jmp)( short)? rshr\.`+c[1]+`$`).FindAllString(listing, -1)
		assert.GreaterOrEqual(t, len(from), 2, "rshr.%d's calls", n)
	}
	assert.Regexp(t, `(?m)^\s+mov cl, 0x[0-9a-f]+\n\s+call rshr$`, listing, "a count called from one place")
	// The cache's shift by a count in cl calls the routine itself, after
	// a clc (the count may be 0).
	assert.Contains(t, listing, "    clc\n    call rshr\n")
	// The lookup routine's interpolation shifts by its fraction's bits
	// itself, and nothing in it touches ecx (lookupClobbers leaves it).
	// (The size policy's tables lie in segment 0: DS, no prefix.)
	routine := regexp.MustCompile(`(?m)^lookup11\.ds:\n(    .*\n)+?    ret\n`).FindString(listing)
	assert.Regexp(t, `    imul edx\n    shrd eax, edx, 0xb\n    adc eax, dword \[bx\]\n    ret\n$`, routine, "listing:\n%s", listing)
	assert.NotRegexp(t, `\b(e?cx|c[lh])\b|call`, routine)
	im, err = codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Gen: "loop", Opt: "2"})
	require.NoError(t, err)
	assert.NotContains(t, im.Main.Listing(), "rshr")
}

// segmentedListing is the listing of the example name's image from the
// loop code generator, segmented, 8 steps.
func segmentedListing(t *testing.T, name string) string {
	t.Helper()
	return loopListing(t, name, "segmented")
}

// loopListing is the listing of the loop generator's image of the
// example name in the memory model, 8 steps.
func loopListing(t *testing.T, name, memory string) string {
	t.Helper()
	return fileListing(t, path(name), memory)
}

// untiedSampled writes examples/untied-random.tf with a sampler in place
// of argmax into a temporary directory and returns its path: the sampler
// reads the activations' segment after the layer loop, so the caches keep
// GS (pinSlots), and a kernel there needs FS and GS, so the params' slot
// stays a word and its procs load the segments they are passed. Its
// vocabulary of 963 makes the classifier 65,484 bytes, too large to share
// its segment with the final norm's weights (which the layout would put
// there, where the layer's slot points after the loop, as it does for
// untied-random: TestCallsLeaveLayerSegmentsInSlots).
func untiedSampled(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(path("untied-random"))
	require.NoError(t, err)
	s := string(b)
	for _, r := range [][2]string{{"model untied_random", "model untied_sampled"},
		{"next = argmax(matmul(wcls, x))", "next = sample(matmul(wcls, x))"}, {"sampler greedy", "sampler temperature 0.8 seed 7"},
		{"vocab    = 512", "vocab    = 963"}} {
		require.Contains(t, s, r[0])
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	file := filepath.Join(t.TempDir(), "untied-sampled.tf")
	require.NoError(t, os.WriteFile(file, []byte(s), 0o644))
	return file
}

// fileListing is loopListing's for the .tf file at file.
func fileListing(t *testing.T, file, memory string) string {
	t.Helper()
	p, err := frontend.LoadFile(file, ir.Options{})
	require.NoError(t, err)
	im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Gen: "loop", Memory: memory})
	require.NoError(t, err)
	return im.Main.Listing()
}

// A proc whose every call is followed at once by a bare call of another
// (llama2-int8.tf's norm, then the matmul that reads its result) falls
// into it, laid out after it: its calls' data are followed by the second
// proc's data, not by a call, and the other proc's remaining calls are
// its other callers'. The image, booted, prints what tfc sim prints
// (TestMatrix).
func TestProcFallsIntoTheNext(t *testing.T) {
	lines := strings.Split(segmentedListing(t, "llama2-int8"), "\n")
	declared := map[string]int{} // calls by the region's count
	calls := map[string]int{}    // call instructions
	falls := map[string]string{} // a proc that ends before another's label without ret
	last, proc := "", ""
	for _, l := range lines {
		l = strings.TrimSpace(l)
		var name string
		var n int
		if k, _ := fmt.Sscanf(l, "; region proc %s (%d calls)", &name, &n); k == 2 {
			declared[name] = n
			continue
		}
		if strings.HasPrefix(l, "proc") && strings.HasSuffix(l, ":") && !strings.Contains(l, ".") {
			if p := strings.TrimSuffix(l, ":"); proc != "" && last != "ret" {
				falls[proc] = p
			}
			proc = strings.TrimSuffix(l, ":")
			continue
		}
		if l == "" || strings.HasPrefix(l, ";") || strings.HasSuffix(l, ":") || strings.HasPrefix(l, "db ") {
			continue
		}
		if f := strings.Fields(l); len(f) == 2 && f[0] == "call" && strings.HasPrefix(f[1], "proc") {
			calls[f[1]]++
		}
		last = l
	}
	require.Len(t, falls, 1, "procs that fall into the next: %v", falls)
	for a, b := range falls {
		assert.Equal(t, declared[a], calls[a], "%s's calls", a)
		assert.Equal(t, declared[b]-declared[a], calls[b], "%s's calls, but for those %s falls into", b, a)
		assert.Greater(t, calls[b], 0, "%s's own calls", b)
	}
	for p, n := range declared {
		if _, ok := falls[p]; !ok && !slices.Contains(slices.Collect(maps.Values(falls)), p) {
			assert.Equal(t, n, calls[p], "%s's calls", p)
		}
	}
}

// In the flat model a layer's param lies at its layer slot's address plus
// a constant: a proc's param that every call passes so (llama2.tf's norm
// and matmul weights; after the layer loop, the final norm's and the
// classifier's, constants) follows the call as that offset, which the
// proc adds the slot to. No call computes an address from the slot. The
// image, booted, prints what tfc sim prints (TestMatrix).
func TestCallsPassLayerOffsets(t *testing.T) {
	listing := loopListing(t, "llama2", "flat")
	assert.NotRegexp(t, `mov eax, dword \[0x1004\]\n(\s+add eax, .*\n)?\s+call proc`, listing)
	assert.Regexp(t, `(?m)^proc\d+:\n(?:[^;].*\n)*?\s+lodsd\n\s+add eax, dword \[0x1004\]\n`, listing)
}

// Segmented, a layer's weights past the first segment of its group lie at
// the layer slot's segment plus a constant: a proc's segment param that
// every call passes so (gpt2-random.tf's matmuls; after the layer loop,
// a constant) follows the call as that word, which the proc adds the
// slot's word to. No call computes a segment from the slot. The image,
// booted, prints what tfc sim prints (TestMatrix).
func TestCallsPassLayerSegmentOffsets(t *testing.T) {
	listing := segmentedListing(t, "gpt2-random")
	assert.NotRegexp(t, `(mov ax, word \[0x100[48]\]|movzx eax, word \[0x100[48]\]\n\s+add eax, .*)\n\s+call proc`, listing)
	assert.Regexp(t, `(?m)^proc\d+:\n(?:[^;].*\n)*?\s+lodsw\n\s+add ax, word \[0x1004\]\n`, listing)
}

// The size policy lowers rope to OpMac2s, each a call of one routine
// where smaller (llama2.tf's rope, flat: two a pair), which reads the
// pair itself (its offset in si: the size policy's activations lie in
// segment 0, where DS reaches them: ".ds", as the table: ".ds" before
// it; the first product's low half goes to ecx by an exchange, eax loaded
// next) and ends at its shift's entry of the rshr routine: the last such
// routine falls into that entry, which comes first. The images, booted,
// print what tfc sim prints (TestMatrix).
func TestRopeCallsMac2(t *testing.T) {
	listing := loopListing(t, "llama2", "flat")
	assert.Len(t, regexp.MustCompile(`(?m)^\s+call mac2\.16\.30\.ds\.x4\.ds$`).FindAllString(listing, -1), 2, "calls:\n%s", listing)
	// Between a pair's calls, the first result's move (or exchange) and
	// the table's address alone (16-bit: the table lies in segment 0; an
	// add to the first's, leaStep): the pair's pointer stays in si, no
	// register is spilled.
	assert.Regexp(t, `call mac2\.16\.30\.ds\.x4\.ds\n\s+(mov|xchg) e[a-ds][xip], eax\n\s+(lea bx, \[[^\]]+\]|add bx, 0x10)\n\s+call mac2\.16\.30\.ds\.x4\.ds\n`, listing)
	assert.Regexp(t, `(?m)^mac2\.16\.30\.ds\.x4\.ds:\n\s+mov eax, dword \[si\]\n\s+imul dword \[bx\]\n\s+xchg eax, ecx\n\s+push edx\n(?:\s+.*\n){5}; region rshr\nrshr\.30:\n\s+mov cl, 0x1e\n\s+db 0x3d\n`, listing)
}

// The embedding's loop reads its row by lods, through ES, its step gone:
// llama2-int8.tf's bytes and mlp-random's words, si the base where it was
// a lone index (indexBase, in the cost of finish's second Recolor: before
// incTwice makes a step by 2 two incs). Segmented.
func TestEmbeddingLods(t *testing.T) {
	for _, c := range []struct{ name, lods string }{{"llama2-int8", `es lodsb\n\s+cbw\n\s+cwde`}, {"mlp-random", `es lodsw\n\s+cwde`}} {
		listing := segmentedListing(t, c.name)
		embed := regexp.MustCompile(`(?m)^; region embed x\n(?:[^;].*\n|; region embed x\n)*`).FindString(listing)
		assert.Regexp(t, `\n\s+`+c.lods+`\n`, embed, "%s:\n%s", c.name, listing)
		assert.NotRegexp(t, `\binc si\b`, embed, c.name)
	}
}

// A proc that reads two segment params from one word (a layernorm's
// weights and biases, both in the layer's group: layerSlotArgs) loads
// one segment register from it, not two (gpt2-random.tf, segmented).
func TestProcSegmentsShareAWord(t *testing.T) {
	p, err := frontend.LoadFile(path("gpt2-random"), ir.Options{})
	require.NoError(t, err)
	im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Gen: "loop", Memory: "segmented"})
	require.NoError(t, err)
	loads := map[string]int{} // a proc's segment loads by source word
	procs, fromSlot := 0, 0
	check := func() {
		for src, n := range loads {
			assert.Equal(t, 1, n, "proc %d: segment registers loaded from %s", procs, src)
		}
	}
	for _, line := range strings.Split(im.Main.Listing(), "\n") {
		f := strings.Fields(strings.ReplaceAll(line, ",", ""))
		if len(f) == 1 && strings.HasPrefix(f[0], "proc") && strings.HasSuffix(f[0], ":") && !strings.Contains(f[0], ".") {
			check()
			loads, procs = map[string]int{}, procs+1
			continue
		}
		if procs > 0 && len(f) == 4 && f[0] == "mov" && (f[1] == "fs" || f[1] == "gs") && f[2] == "word" {
			loads[f[3]]++
			fromSlot++
		}
	}
	check()
	assert.NotZero(t, procs)
	assert.NotZero(t, fromSlot, "segment loads from a word")
}

// An op's kernel takes a segment register that the op before it left
// holding the group it reaches, with no load (llama2's attention after
// the store of k and v, both in the cache's group): in forward, no
// segment register is loaded from a word that one holds already, where
// nothing between (a call, the layer loop's head or its step of the
// slots) may have changed either.
func TestSegmentsHeldFromOpToOp(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"gelu-random", "gpt2-random", "mha-random", "mlp-random", "untied-random"} {
		p, err := frontend.LoadFile(path(name), ir.Options{})
		require.NoError(t, err)
		im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Gen: "loop", Memory: "segmented"})
		require.NoError(t, err)
		held := map[string]string{}
		inForward := false
		for _, line := range strings.Split(im.Main.Listing(), "\n") {
			f := strings.Fields(strings.ReplaceAll(line, ",", ""))
			switch {
			case len(f) == 1 && f[0] == "forward:":
				inForward = true
			case !inForward || len(f) == 0:
			case len(f) == 1 && strings.HasPrefix(f[0], "proc") && !strings.Contains(f[0], "."):
				inForward = false
			case f[0] == "layer:" || f[0] == "call" && strings.HasPrefix(f[1], "proc") || f[0] == "add" && f[1] == "word":
				held = map[string]string{}
			case len(f) == 4 && f[0] == "mov" && (f[1] == "fs" || f[1] == "gs") && f[2] == "word":
				for r, src := range held {
					assert.NotEqual(t, f[3], src, "%s: %s loaded from %s, which %s holds", name, f[1], f[3], r)
				}
				held[f[1]] = f[3]
			case f[0] == "mov" && (f[1] == "fs" || f[1] == "gs"):
				delete(held, f[1])
			}
		}
	}
}

// The lookup routine takes an 11-bit fraction (the exp and gate tables')
// as the low word with the high byte's upper bits cleared: movzx and an
// and of dh, 7 bytes where a copy and an and of edx take 10. The images
// that call it boot equal to tfc sim (TestMatrix).
func TestLookupFraction(t *testing.T) {
	for _, memory := range []string{"segmented", "flat"} {
		listing := loopListing(t, "mlp-random", memory)
		assert.Regexp(t, `(?m)^lookup11\.ds:\n\s+movzx edx, ax\n\s+and dh, 0x7\n`, listing, memory)
	}
}

// The size policy's images keep the computed activations in segment 0
// (the Zero placement), where the kernels reach them with no segment
// prefix and forward loads no ES: flat, every access; -O2's lie at
// LowActivations, through ES.
// Segmented, attention's fill of its sums stores words through DS, no
// rep stosd (which writes through ES: ES from DS and back, 4 bytes more).
func TestActivationsInSegmentZero(t *testing.T) {
	p, err := frontend.LoadFile(path("mlp-random"), ir.Options{})
	require.NoError(t, err)
	for _, c := range []struct {
		opt string
		es  bool
	}{{"", false}, {"2", true}} {
		im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Gen: "loop", Memory: "flat", Opt: c.opt})
		require.NoError(t, err)
		l := im.Main.Listing()
		assert.Equal(t, c.es, strings.Contains(l, "es:"), "-O%s: es:", c.opt)
		assert.NotContains(t, l, "[ds:", "-O%s", c.opt)
		// ES is 0 as the boot hands over: forward loads it only where
		// the activations lie elsewhere.
		assert.Equal(t, c.es, regexp.MustCompile(`forward:\n\s+push [^\n]+\n\s+pop es\n`).MatchString(l), "-O%s: pop es", c.opt)
	}
	im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Gen: "loop", Memory: "segmented"})
	require.NoError(t, err)
	l := im.Main.Listing()
	assert.Regexp(t, `(?m)^\s+xor ax, ax\n\s+mov di, -0x[0-9a-f]+\n(op\d+\.fill\d+):\n\s+mov word \[di-0x[0-9a-f]+\], ax\n\s+inc di\n\s+inc di\n\s+jne short (op\d+\.fill\d+)\n`, l)
	assert.NotContains(t, l, "rep stosd")
	assert.NotContains(t, l, "[ds:")
}

// A proc that falls into the next (a norm, then the matmul that reads
// what it wrote) reads an argument that the second's call passes too
// where it lies in that call's data, and its own calls pass it no more
// (peekArgs): mlp-random's norm, its destination, the matmul's input.
// Each call passes only the norm's weights (an offset in the layer, a
// dword flat, a word segmented). The images boot equal to tfc sim
// (TestMatrix).
func TestNormReadsTheMatmulsData(t *testing.T) {
	for _, c := range []struct{ memory, data, read string }{
		{"flat", `db 0x[0-9a-f]{2}, 0x[0-9a-f]{2}, 0x[0-9a-f]{2}, 0x[0-9a-f]{2}\n`, `\n\s+push si\n\s+push word \[si\+0x8\]\n`},
		{"segmented", `db 0x[0-9a-f]{2}, 0x[0-9a-f]{2}\n`, `\n\s+mov bx, word \[si\+0x6\]\n`},
	} {
		listing := loopListing(t, "mlp-random", c.memory)
		calls := regexp.MustCompile(`call proc0\n\s+(.*\n)(; region matmul)?`).FindAllStringSubmatch(listing, -1)
		require.Len(t, calls, 3, c.memory)
		for _, m := range calls {
			assert.Regexp(t, `^`+c.data+`$`, m[1], c.memory)
			assert.NotEmpty(t, m[2], "%s: the matmul's data follows", c.memory)
		}
		assert.Regexp(t, c.read, procBody(t, listing, "proc0"), c.memory)
	}
}
