package checkpoint

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gpt2Model is a small GPT-2 model with random weights: every value
// distinct, so that a tensor read from the wrong place shows.
func gpt2Model(seqLen, vocab, padded, layers, heads, dim int) *Model {
	c := Config{Format: GPT2, Dim: dim, Hidden: 4 * dim, Layers: layers, Heads: heads, KVHeads: heads,
		Vocab: vocab, SeqLen: seqLen, Shared: true, PaddedVocab: padded}
	m := &Model{Config: c, Tensors: map[string]*Tensor{}}
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range c.Names() {
		shape := c.Shapes()[name]
		n := 1
		for _, d := range shape {
			n *= d
		}
		t := &Tensor{Name: name, Shape: shape, Data: make([]float32, n)}
		for i := range t.Data {
			t.Data[i] = float32(r.NormFloat64())
		}
		m.Tensors[name] = t
	}
	return m
}

// An llm.c checkpoint reads back as written, its qkvw split into wq, wk
// and wv layer by layer, wte without its padding rows.
func TestGPT2RoundTrip(t *testing.T) {
	m := gpt2Model(16, 37, 48, 2, 2, 8)
	b := WriteGPT2(m)
	require.Equal(t, ExpectedSize(m.Config), int64(len(b)), "bytes (ExpectedSize, WriteGPT2's)")
	got, err := Parse(b)
	require.NoError(t, err)
	assert.Equal(t, m.Config, got.Config, "config")
	for name, want := range m.Tensors {
		g := got.Tensors[name]
		require.NotNil(t, g, name)
		require.Equal(t, want.Shape, g.Shape, "%s: shape", name)
		require.Equal(t, len(want.Data), len(g.Data), "%s: values", name)
		// Value by value, stopping at the first that differs.
		for i := range g.Data {
			require.Equal(t, want.Data[i], g.Data[i], "%s[%d]", name, i)
		}
	}
	// Where llm.c has them: layer 1's wk is rows C..2C-1 of its qkvw, the
	// fifth tensor, after wte (padded), wpe, ln1w and ln1b.
	C, L := 8, 2
	off := GPT2HeaderSize + 4*(48*C+16*C+2*L*C) + 4*(1*3*C*C+C*C)
	want := m.Tensors["wk"].Data[C*C:]
	assert.Equal(t, want[0], bytesFloat(b[off:]), "layer 1's wk's first value in the file")
	// ReadHeader reads the long header from a stream.
	h, err := ReadHeader(bytes.NewReader(b))
	if assert.NoError(t, err, "ReadHeader") {
		assert.Equal(t, m.Config, h, "ReadHeader")
	}
}

func bytesFloat(b []byte) float32 {
	var v float32
	binary.Read(bytes.NewReader(b[:4]), binary.LittleEndian, &v)
	return v
}

func TestGPT2HeaderErrors(t *testing.T) {
	good := WriteGPT2(gpt2Model(16, 37, 48, 2, 2, 8))
	set := func(i int, v int32) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		return b
	}
	for _, c := range []struct {
		data []byte
		want string
	}{
		{good[:100], "llm.c GPT-2 checkpoint header is truncated: 100 bytes, need 1024"},
		{set(1, 5), "version 5 is bfloat16"},
		{set(1, 2), "version 2, not 3 (float32)"},
		{set(6, 0), "channels is 0, must be in 1..1048576"},
		{set(6, 9), "channels 9 is not a multiple of num_heads 2"},
		{set(7, 30), "padded_vocab_size 30 is less than vocab_size 37"},
		{good[:len(good)-4], "llm.c GPT-2 checkpoint is 10108 bytes, but its header (channels 8, num_layers 2, max_seq_len 16, padded_vocab_size 48) needs 10112"},
	} {
		_, err := Parse(c.data)
		assert.ErrorContains(t, err, c.want)
	}
}
