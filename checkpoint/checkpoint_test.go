package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var stories260K = Config{Dim: 64, Hidden: 172, Layers: 5, Heads: 8, KVHeads: 4, Vocab: 512, SeqLen: 512, Shared: true}

func TestRealCheckpoint(t *testing.T) {
	dir := modelsDir(t)
	path := filepath.Join(dir, "stories260K.bin")
	data, err := os.ReadFile(path)
	require.NoError(t, err)

	m, err := Load(path)
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff(stories260K, m.Config), "config (-want +got)")
	assert.True(t, m.Shared, "Shared")
	assert.Equal(t, int64(1056540), ExpectedSize(m.Config), "ExpectedSize")
	assert.Equal(t, int64(len(data)), ExpectedSize(m.Config), "ExpectedSize vs file")

	hc, err := ReadHeader(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff(stories260K, hc), "ReadHeader (-want +got)")

	wantShapes := map[string][]int{
		"token_embedding": {512, 64},
		"rms_att":         {5, 64},
		"wq":              {5, 64, 64},
		"wk":              {5, 32, 64},
		"wv":              {5, 32, 64},
		"wo":              {5, 64, 64},
		"rms_ffn":         {5, 64},
		"w1":              {5, 172, 64},
		"w2":              {5, 64, 172},
		"w3":              {5, 172, 64},
		"rms_final":       {64},
	}
	assert.Empty(t, cmp.Diff(wantShapes, TensorShapes(m.Config)), "TensorShapes (-want +got)")
	require.Equal(t, len(wantShapes), len(m.Tensors), "tensors")
	total := 0
	for name, shape := range wantShapes {
		tn := m.Tensors[name]
		require.NotNil(t, tn, "no tensor %s", name)
		assert.Equal(t, name, tn.Name, "name")
		assert.Empty(t, cmp.Diff(shape, tn.Shape), name+" shape (-want +got)")
		n := 1
		for _, d := range shape {
			n *= d
		}
		assert.Equal(t, n, len(tn.Data), name+" length")
		total += n
	}
	assert.Equal(t, 260032, total, "weight count")

	// First values of some tensors, as in the file.
	assert.Empty(t, cmp.Diff([]float32{-0.29474878311157227, 0.5618956089019775, 0.1754225343465805,
		0.34057360887527466, -0.11446066945791245, 0.2313181459903717},
		m.Tensors["token_embedding"].Data[:6]), "token_embedding (-want +got)")
	assert.Empty(t, cmp.Diff([]float32{0.9722429513931274, 0.6754933595657349, 0.8203195333480835},
		m.Tensors["rms_att"].Data[:3]), "rms_att (-want +got)")
	assert.Empty(t, cmp.Diff([]float32{2.4583089351654053, 1.3673226833343506, 1.7504382133483887},
		m.Tensors["rms_final"].Data[:3]), "rms_final (-want +got)")
	assert.Empty(t, cmp.Diff(m.Tensors["rms_att"].Data[64:128], m.Tensors["rms_att"].Layer(1)), "Layer(1) (-want +got)")

	// Write reproduces the file byte for byte except for the legacy RoPE
	// tables (which llama2.c skips), where it agrees to within one float32 ulp.
	out := Write(m)
	require.Equal(t, len(data), len(out), "bytes Write wrote")
	legacyStart, legacyEnd := HeaderSize+4*260032, HeaderSize+4*(260032+2*2048)
	// bytes.Equal: a diff of a megabyte is no help.
	assert.True(t, bytes.Equal(data[:legacyStart], out[:legacyStart]), "Write(Load(stories260K.bin)) differs from the file before the legacy RoPE tables")
	assert.True(t, bytes.Equal(data[legacyEnd:], out[legacyEnd:]), "Write(Load(stories260K.bin)) differs from the file after the legacy RoPE tables")
	for off := legacyStart; off < legacyEnd; off += 4 {
		a := int64(binary.LittleEndian.Uint32(data[off:]))
		b := int64(binary.LittleEndian.Uint32(out[off:]))
		assert.InDelta(t, a, b, 1, "legacy RoPE value at byte %d: file %#x, Write %#x", off, a, b)
	}
}

func TestTensorNames(t *testing.T) {
	assert.Empty(t, cmp.Diff([]string{"token_embedding", "rms_att", "wq", "wk", "wv", "wo",
		"rms_ffn", "w1", "w2", "w3", "rms_final"}, TensorNames(true)), "TensorNames(true) (-want +got)")
	assert.Empty(t, cmp.Diff(append(TensorNames(true), "wcls"), TensorNames(false)), "TensorNames(false) (-want +got)")
	s := TensorShapes(tinyUnshared)
	assert.Empty(t, cmp.Diff([]int{5, 4}, s["wcls"]), "wcls (-want +got)")
	assert.Empty(t, cmp.Diff([]int{1, 2, 4}, s["wk"]), "wk (-want +got)")
	assert.Equal(t, 12, len(s), "unshared tensor count")
	assert.Equal(t, 11, len(TensorShapes(tinyShared)), "shared tensor count")
	for _, shared := range []bool{true, false} {
		c := tinyShared
		c.Shared = shared
		shapes := TensorShapes(c)
		for _, name := range TensorNames(shared) {
			assert.NotNil(t, shapes[name], "TensorShapes lacks %s", name)
		}
	}
}

func TestExpectedSize(t *testing.T) {
	assert.Equal(t, int64(1056540), ExpectedSize(stories260K), "stories260K")
	u := stories260K
	u.Shared = false
	assert.Equal(t, int64(1056540+512*64*4), ExpectedSize(u), "unshared")
	// Legacy tables: seq_len*head_size/2 each, integer division as in llama2.c.
	odd := Config{Dim: 3, Hidden: 1, Layers: 1, Heads: 1, KVHeads: 1, Vocab: 1, SeqLen: 3, Shared: true}
	weights := 3 + 3 + 9 + 9 + 9 + 9 + 3 + 3 + 3 + 3 + 3
	assert.Equal(t, int64(28+4*(weights+2*(9/2))), ExpectedSize(odd), "odd")
	assert.Equal(t, int64(-1), ExpectedSize(Config{Dim: -1}), "negative")
	assert.Equal(t, int64(-1), ExpectedSize(Config{Dim: MaxDim + 1}), "too large")
	big := Config{Dim: MaxDim, Hidden: MaxDim, Layers: MaxDim, Heads: MaxDim, KVHeads: MaxDim, Vocab: MaxDim, SeqLen: MaxDim}
	assert.Equal(t, int64(-1), ExpectedSize(big), "overflow")
}

func TestRoundTrip(t *testing.T) {
	for _, c := range []Config{tinyShared, tinyUnshared,
		{Dim: 6, Hidden: 5, Layers: 3, Heads: 3, KVHeads: 3, Vocab: 7, SeqLen: 9, Shared: true},
		{Dim: 1, Hidden: 1, Layers: 1, Heads: 1, KVHeads: 1, Vocab: 1, SeqLen: 1, Shared: false},
	} {
		m := randomModel(c, 42)
		data := Write(m)
		assert.Equal(t, ExpectedSize(c), int64(len(data)), "size")
		got, err := Parse(data)
		require.NoError(t, err)
		assert.Empty(t, cmp.Diff(m, got), "round trip (-want +got)")
		hc, err := ParseHeader(data)
		require.NoError(t, err)
		assert.Empty(t, cmp.Diff(c, hc), "ParseHeader (-want +got)")
	}
}

func TestUnsharedClassifier(t *testing.T) {
	m := randomModel(tinyUnshared, 7)
	data := Write(m)
	assert.Empty(t, cmp.Diff(header(-5), data[20:24]), "header vocab_size (-want +got)")
	got, err := Parse(data)
	require.NoError(t, err)
	assert.False(t, got.Shared, "Shared")
	assert.Equal(t, 5, got.Vocab, "Vocab")
	w := got.Tensors["wcls"]
	require.NotNil(t, w, "no wcls")
	assert.Empty(t, cmp.Diff([]int{5, 4}, w.Shape), "wcls shape (-want +got)")
	assert.Empty(t, cmp.Diff(m.Tensors["wcls"].Data, w.Data), "wcls (-want +got)")
	// wcls is last, after the legacy RoPE tables.
	last := data[len(data)-4:]
	assert.Equal(t, math.Float32bits(m.Tensors["wcls"].Data[19]),
		uint32(last[0])|uint32(last[1])<<8|uint32(last[2])<<16|uint32(last[3])<<24, "last float")

	// The same bytes with a positive vocab_size are too long.
	copy(data[20:24], header(5))
	_, err = Parse(data)
	assert.EqualError(t, err, "checkpoint is 740 bytes, but dim=4 hidden_dim=6 n_layers=1 n_heads=2 n_kv_heads=1 vocab_size=5 seq_len=3 needs 660")
}

func TestBadCheckpoints(t *testing.T) {
	realHeader := header(64, 172, 5, 8, 4, 512, 512)
	withSize := func(h []byte, n int) []byte {
		out := make([]byte, n)
		copy(out, h)
		return out
	}
	const huge = 1 << 20
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "checkpoint header is truncated: 0 bytes, need 28"},
		{"truncated header", realHeader[:12], "checkpoint header is truncated: 12 bytes, need 28"},
		{"header one byte short", realHeader[:27], "checkpoint header is truncated: 27 bytes, need 28"},
		{"negative dim", header(-64, 172, 5, 8, 4, 512, 512), "checkpoint header: dim is -64, must be positive"},
		{"zero layers", header(64, 172, 0, 8, 4, 512, 512), "checkpoint header: n_layers is 0, must be positive"},
		{"negative hidden", header(64, -1, 5, 8, 4, 512, 512), "checkpoint header: hidden_dim is -1, must be positive"},
		{"negative kv heads", header(64, 172, 5, 8, -4, 512, 512), "checkpoint header: n_kv_heads is -4, must be positive"},
		{"zero seq_len", header(64, 172, 5, 8, 4, 512, 0), "checkpoint header: seq_len is 0, must be positive"},
		{"zero vocab", header(64, 172, 5, 8, 4, 0, 512),
			"checkpoint header: vocab_size is 0, must be nonzero (negative means an unshared classifier)"},
		{"huge dim", header(1<<21, 172, 5, 8, 4, 512, 512), "checkpoint header: dim is 2097152, more than the limit 1048576"},
		{"huge hidden", header(64, math.MaxInt32, 5, 8, 4, 512, 512),
			"checkpoint header: hidden_dim is 2147483647, more than the limit 1048576"},
		{"huge vocab", header(64, 172, 5, 8, 4, huge+1, 512), "checkpoint header: vocab_size is 1048577, more than the limit 1048576"},
		{"huge negative vocab", header(64, 172, 5, 8, 4, math.MinInt32, 512),
			"checkpoint header: vocab_size is -2147483648, more than the limit 1048576 in magnitude"},
		{"dim not a multiple of heads", header(64, 172, 5, 6, 3, 512, 512),
			"checkpoint header: dim 64 is not a multiple of n_heads 6"},
		{"heads not a multiple of kv heads", header(64, 172, 5, 8, 3, 512, 512),
			"checkpoint header: n_heads 8 is not a multiple of n_kv_heads 3"},
		{"kv heads more than heads", header(64, 172, 5, 8, 16, 512, 512),
			"checkpoint header: n_heads 8 is not a multiple of n_kv_heads 16"},
		{"size overflows", header(huge, huge, huge, huge, huge, huge, huge),
			"checkpoint header: dim=1048576 hidden_dim=1048576 n_layers=1048576 n_heads=1048576 n_kv_heads=1048576 vocab_size=1048576 seq_len=1048576 needs more than 9223372036854775807 bytes"},
		{"size overflows unshared", header(huge, huge, huge, 1, 1, -huge, huge),
			"checkpoint header: dim=1048576 hidden_dim=1048576 n_layers=1048576 n_heads=1 n_kv_heads=1 vocab_size=-1048576 seq_len=1048576 needs more than 9223372036854775807 bytes"},
		{"huge but header only", header(huge, huge, 1024, 1, 1, huge, huge),
			"checkpoint is 28 bytes, but dim=1048576 hidden_dim=1048576 n_layers=1024 n_heads=1 n_kv_heads=1 vocab_size=1048576 seq_len=1048576 needs 31534002078744604"},
		{"header only", realHeader,
			"checkpoint is 28 bytes, but dim=64 hidden_dim=172 n_layers=5 n_heads=8 n_kv_heads=4 vocab_size=512 seq_len=512 needs 1056540"},
		{"four bytes short", withSize(realHeader, 1056536),
			"checkpoint is 1056536 bytes, but dim=64 hidden_dim=172 n_layers=5 n_heads=8 n_kv_heads=4 vocab_size=512 seq_len=512 needs 1056540"},
		{"one byte long", withSize(realHeader, 1056541),
			"checkpoint is 1056541 bytes, but dim=64 hidden_dim=172 n_layers=5 n_heads=8 n_kv_heads=4 vocab_size=512 seq_len=512 needs 1056540"},
		{"unshared but wcls missing", withSize(header(64, 172, 5, 8, 4, -512, 512), 1056540),
			"checkpoint is 1056540 bytes, but dim=64 hidden_dim=172 n_layers=5 n_heads=8 n_kv_heads=4 vocab_size=-512 seq_len=512 needs 1187612"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.data)
			assert.Nil(t, m, "got a model")
			assert.EqualError(t, err, tt.want)
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadHeader(t *testing.T) {
	data := Write(randomModel(tinyShared, 1))
	r := bytes.NewReader(data)
	c, err := ReadHeader(r)
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff(tinyShared, c), "config (-want +got)")
	assert.Equal(t, len(data)-HeaderSize, r.Len(), "bytes left after ReadHeader")

	_, err = ReadHeader(bytes.NewReader(data[:10]))
	assert.EqualError(t, err, "checkpoint header is truncated: 10 bytes, need 28")
	_, err = ReadHeader(bytes.NewReader(nil))
	assert.EqualError(t, err, "checkpoint header is truncated: 0 bytes, need 28")
	_, err = ReadHeader(failingReader{})
	assert.EqualError(t, err, "reading checkpoint header: disk on fire")
	_, err = ReadHeader(bytes.NewReader(header(64, 172, 5, 8, 3, 512, 512)))
	assert.EqualError(t, err, "checkpoint header: n_heads 8 is not a multiple of n_kv_heads 3")
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.bin"))
	assert.ErrorIs(t, err, os.ErrNotExist, "Load of a missing file")

	path := filepath.Join(dir, "short.bin")
	require.NoError(t, os.WriteFile(path, []byte{1, 2, 3}, 0o644))
	_, err = Load(path)
	assert.EqualError(t, err, path+": checkpoint header is truncated: 3 bytes, need 28")

	path = filepath.Join(dir, "ok.bin")
	m := randomModel(tinyUnshared, 3)
	require.NoError(t, os.WriteFile(path, Write(m), 0o644))
	got, err := Load(path)
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff(m, got), "Load (-want +got)")
}

func TestValidate(t *testing.T) {
	require.NoError(t, stories260K.Validate())
	c := stories260K
	c.Heads = 0
	assert.EqualError(t, c.Validate(), "n_heads is 0, must be positive")
	assert.Equal(t, 8, stories260K.HeadSize(), "HeadSize")
	assert.Equal(t, 32, stories260K.KVDim(), "KVDim")
}

func TestWritePanicsOnBadModels(t *testing.T) {
	m := randomModel(tinyShared, 1)
	delete(m.Tensors, "w2")
	assert.PanicsWithValue(t, "checkpoint.Write: missing tensor w2", func() { Write(m) })
	m = randomModel(tinyShared, 1)
	m.Tensors["wq"].Data = m.Tensors["wq"].Data[:3]
	assert.PanicsWithValue(t, "checkpoint.Write: tensor wq has shape [2 8 8] and 3 values, want shape [2 8 8]", func() { Write(m) })
	m = randomModel(tinyShared, 1)
	m.Dim = 0
	assert.PanicsWithValue(t, "checkpoint.Write: dim is 0, must be positive", func() { Write(m) })
}
