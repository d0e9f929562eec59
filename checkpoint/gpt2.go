package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// llm.c's GPT-2 checkpoint (train_gpt2.c's gpt2_build_from_checkpoint, as
// train_gpt2.py writes it): a header of 256 int32, then every tensor in
// float32:
//
//	header: [0] magic 20240326, [1] version (3: float32; 1, older, has no
//	        padded vocabulary; 5 is bfloat16), [2] max_seq_len, [3]
//	        vocab_size, [4] num_layers, [5] num_heads, [6] channels, [7]
//	        padded_vocab_size
//	wte [Vp, C], wpe [maxT, C], ln1w ln1b [L, C], qkvw [L, 3C, C], qkvb
//	[L, 3C], attprojw [L, C, C], attprojb [L, C], ln2w ln2b [L, C], fcw
//	[L, 4C, C], fcb [L, 4C], fcprojw [L, C, 4C], fcprojb [L, C], lnfw lnfb
//	[C]
//
// A .tf file names the tensors as llm.c does, with the fused attention
// projection split into its thirds: wq, wk, wv (rows 0..C−1, C..2C−1,
// 2C..3C−1 of each layer's qkvw) and bq, bk, bv; wte is the first
// vocab_size rows (the padding rows are never read).

// GPT2Magic is the first int32 of an llm.c GPT-2 checkpoint.
const GPT2Magic = 20240326

// GPT2HeaderSize is the size in bytes of its header.
const GPT2HeaderSize = 256 * 4

var gpt2Names = []string{"wte", "wpe", "ln1w", "ln1b", "wq", "wk", "wv", "bq", "bk", "bv", "attprojw", "attprojb",
	"ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"}

var gpt2PerLayer = map[string]bool{"ln1w": true, "ln1b": true, "wq": true, "wk": true, "wv": true, "bq": true, "bk": true,
	"bv": true, "attprojw": true, "attprojb": true, "ln2w": true, "ln2b": true, "fcw": true, "fcb": true,
	"fcprojw": true, "fcprojb": true}

func gpt2Shapes(c Config) map[string][]int {
	C, L := c.Dim, c.Layers
	return map[string][]int{
		"wte": {c.Vocab, C}, "wpe": {c.SeqLen, C},
		"ln1w": {L, C}, "ln1b": {L, C},
		"wq": {L, C, C}, "wk": {L, C, C}, "wv": {L, C, C},
		"bq": {L, C}, "bk": {L, C}, "bv": {L, C},
		"attprojw": {L, C, C}, "attprojb": {L, C},
		"ln2w": {L, C}, "ln2b": {L, C},
		"fcw": {L, 4 * C, C}, "fcb": {L, 4 * C},
		"fcprojw": {L, C, 4 * C}, "fcprojb": {L, C},
		"lnfw": {C}, "lnfb": {C},
	}
}

// gpt2Sizes are the float counts of the file's tensors in order.
func gpt2Sizes(c Config) []uint64 {
	var a acc
	C, L := uint64(c.Dim), uint64(c.Layers)
	sizes := []uint64{
		a.prod(c.PaddedVocab, c.Dim), a.prod(c.SeqLen, c.Dim), L * C, L * C,
		a.prod(c.Layers, 3*c.Dim, c.Dim), L * 3 * C, a.prod(c.Layers, c.Dim, c.Dim), L * C, L * C, L * C,
		a.prod(c.Layers, 4*c.Dim, c.Dim), L * 4 * C, a.prod(c.Layers, c.Dim, 4*c.Dim), L * C, C, C,
	}
	if a.bad {
		return nil
	}
	return sizes
}

func gpt2Size(c Config) int64 {
	sizes := gpt2Sizes(c)
	if sizes == nil {
		return -1
	}
	var a acc
	for _, n := range sizes {
		a.add(n)
	}
	total := a.sum(a.mul(a.n, 4), GPT2HeaderSize)
	if a.bad || total > math.MaxInt64 {
		return -1
	}
	return int64(total)
}

func parseGPT2Header(data []byte) (Config, error) {
	if len(data) < GPT2HeaderSize {
		return Config{}, fmt.Errorf("llm.c GPT-2 checkpoint header is truncated: %d bytes, need %d", len(data), GPT2HeaderSize)
	}
	h := func(i int) int { return int(int32(binary.LittleEndian.Uint32(data[4*i:]))) }
	switch v := h(1); v {
	case 1, 3:
	case 5:
		return Config{}, errors.New("llm.c GPT-2 checkpoint header: version 5 is bfloat16; tfc reads version 3, float32 (train_gpt2.py writes both)")
	default:
		return Config{}, fmt.Errorf("llm.c GPT-2 checkpoint header: version %d, not 3 (float32)", v)
	}
	c := Config{Format: GPT2, SeqLen: h(2), Vocab: h(3), Layers: h(4), Heads: h(5), KVHeads: h(5), Dim: h(6), Shared: true}
	c.Hidden = 4 * c.Dim
	c.PaddedVocab = c.Vocab
	if h(1) == 3 {
		c.PaddedVocab = h(7)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"max_seq_len", c.SeqLen}, {"vocab_size", c.Vocab}, {"num_layers", c.Layers}, {"num_heads", c.Heads}, {"channels", c.Dim}, {"padded_vocab_size", c.PaddedVocab}} {
		if f.v <= 0 || f.v > MaxDim {
			return Config{}, fmt.Errorf("llm.c GPT-2 checkpoint header: %s is %d, must be in 1..%d", f.name, f.v, MaxDim)
		}
	}
	if c.PaddedVocab < c.Vocab {
		return Config{}, fmt.Errorf("llm.c GPT-2 checkpoint header: padded_vocab_size %d is less than vocab_size %d", c.PaddedVocab, c.Vocab)
	}
	if c.Dim%c.Heads != 0 {
		return Config{}, fmt.Errorf("llm.c GPT-2 checkpoint header: channels %d is not a multiple of num_heads %d", c.Dim, c.Heads)
	}
	if c.Hidden > MaxDim {
		return Config{}, fmt.Errorf("llm.c GPT-2 checkpoint header: 4*channels %d is more than the limit %d", c.Hidden, MaxDim)
	}
	if gpt2Size(c) < 0 {
		return Config{}, fmt.Errorf("llm.c GPT-2 checkpoint header: too large")
	}
	return c, nil
}

func parseGPT2(c Config, data []byte) (*Model, error) {
	if want := gpt2Size(c); int64(len(data)) != want {
		return nil, fmt.Errorf("llm.c GPT-2 checkpoint is %d bytes, but its header (channels %d, num_layers %d, max_seq_len %d, padded_vocab_size %d) needs %d",
			len(data), c.Dim, c.Layers, c.SeqLen, c.PaddedVocab, want)
	}
	off := GPT2HeaderSize
	next := func(n uint64) []float32 {
		f := make([]float32, n)
		for i := range f {
			f[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*i:]))
		}
		off += 4 * int(n)
		return f
	}
	sizes := gpt2Sizes(c)
	file := map[string][]float32{}
	for i, name := range []string{"wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
		"ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"} {
		file[name] = next(sizes[i])
	}
	shapes := gpt2Shapes(c)
	m := &Model{Config: c, Tensors: map[string]*Tensor{}}
	for _, name := range gpt2Names {
		m.Tensors[name] = &Tensor{Name: name, Shape: shapes[name]}
	}
	for name, f := range file {
		if t := m.Tensors[name]; t != nil {
			t.Data = f
		}
	}
	m.Tensors["wte"].Data = file["wte"][:c.Vocab*c.Dim]
	// Each layer's qkvw is wq, wk, wv one after the other, qkvb bq, bk, bv.
	C := c.Dim
	for k, names := range [][3]string{{"wq", "wk", "wv"}, {"bq", "bk", "bv"}} {
		src, n := file["qkvw"], C*C
		if k == 1 {
			src, n = file["qkvb"], C
		}
		for j, name := range names {
			t := m.Tensors[name]
			t.Data = make([]float32, 0, c.Layers*n)
			for l := 0; l < c.Layers; l++ {
				t.Data = append(t.Data, src[(3*l+j)*n:(3*l+j+1)*n]...)
			}
		}
	}
	return m, nil
}

// WriteGPT2 encodes m, a GPT-2 model (Format GPT2, every tensor of
// Config.Names), in llm.c's float32 format, version 3: the inverse of
// Parse. The padding rows of wte are zeros. It panics on a malformed
// model: it is meant for tests and tools.
func WriteGPT2(m *Model) []byte {
	c := m.Config
	out := make([]byte, 0, max(gpt2Size(c), 0))
	hdr := make([]int32, 256)
	hdr[0], hdr[1], hdr[2], hdr[3], hdr[4], hdr[5], hdr[6], hdr[7] = GPT2Magic, 3,
		int32(c.SeqLen), int32(c.Vocab), int32(c.Layers), int32(c.Heads), int32(c.Dim), int32(c.PaddedVocab)
	for _, v := range hdr {
		out = binary.LittleEndian.AppendUint32(out, uint32(v))
	}
	put := func(f []float32) {
		for _, v := range f {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	get := func(name string) []float32 {
		t := m.Tensors[name]
		if t == nil {
			panic("checkpoint.WriteGPT2: missing tensor " + name)
		}
		return t.Data
	}
	put(get("wte"))
	put(make([]float32, (c.PaddedVocab-c.Vocab)*c.Dim))
	put(get("wpe"))
	put(get("ln1w"))
	put(get("ln1b"))
	C := c.Dim
	for k, names := range [][3]string{{"wq", "wk", "wv"}, {"bq", "bk", "bv"}} {
		n := C * C
		if k == 1 {
			n = C
		}
		for l := 0; l < c.Layers; l++ {
			for _, name := range names {
				put(get(name)[l*n : (l+1)*n])
			}
		}
	}
	for _, name := range []string{"attprojw", "attprojb", "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"} {
		put(get(name))
	}
	if int64(len(out)) != gpt2Size(c) {
		panic(fmt.Sprintf("checkpoint.WriteGPT2: wrote %d bytes, want %d (tensor sizes)", len(out), gpt2Size(c)))
	}
	return out
}
