// Package checkpoint reads and writes llama2.c model files: the checkpoint
// (a header of seven int32 followed by float32 weights) and the tokenizer
// (pieces with scores), and reproduces llama2.c's run.c tokenizer semantics
// (encode, decode and safe_printf) exactly.
//
// All multi-byte values are little-endian. Parsing never panics and never
// allocates more than a small multiple of the input size; malformed input
// yields an error whose message is lower-case and carries no file position
// (the caller prefixes one).
package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
)

// HeaderSize is the size in bytes of a checkpoint header: seven int32.
const HeaderSize = 7 * 4

// MaxDim bounds every header dimension (and the magnitude of vocab_size).
const MaxDim = 1 << 20

// Config holds the hyper-parameters of a checkpoint header.
type Config struct {
	Dim     int // dim: width of the residual stream
	Hidden  int // hidden_dim: width of the feed-forward layer
	Layers  int // n_layers
	Heads   int // n_heads: query heads
	KVHeads int // n_kv_heads: key/value heads
	Vocab   int // vocab_size, always positive here
	SeqLen  int // seq_len: maximum context length
	// Shared: the classifier is the token embedding table (header
	// vocab_size > 0). When false the header's vocab_size is negative and a
	// separate wcls tensor follows the legacy RoPE tables.
	Shared bool

	// Format is the file's format: LLaMA2C (the zero value) or GPT2 (llm.c's
	// GPT-2 checkpoint, gpt2.go), which also sets PaddedVocab.
	Format Format
	// PaddedVocab is llm.c's padded_vocab_size: the rows of its wte.
	PaddedVocab int
}

// Format is a checkpoint file format.
type Format int

// The formats.
const (
	LLaMA2C Format = iota // llama2.c's: 7 int32, then the tensors
	GPT2                  // llm.c's GPT-2: 256 int32 (magic GPT2Magic), then the tensors
)

func (f Format) String() string {
	if f == GPT2 {
		return "llm.c GPT-2"
	}
	return "llama2.c"
}

// headerNames are the header's names of the seven hyper-parameters, by
// the .tf config's names, per format.
var headerNames = [...]map[string]string{
	LLaMA2C: {"dim": "dim", "hidden": "hidden_dim", "layers": "n_layers", "heads": "n_heads",
		"kv_heads": "n_kv_heads", "vocab": "vocab_size", "context": "seq_len"},
	GPT2: {"dim": "channels", "hidden": "4*channels", "layers": "num_layers", "heads": "num_heads",
		"kv_heads": "num_heads", "vocab": "vocab_size", "context": "max_seq_len"},
}

// HeaderName is how the header calls the hyper-parameter a .tf config
// names field ("hidden": "hidden_dim").
func (c Config) HeaderName(field string) string { return headerNames[c.Format][field] }

// Values are the seven hyper-parameters by their .tf config names.
func (c Config) Values() map[string]int {
	return map[string]int{"dim": c.Dim, "hidden": c.Hidden, "layers": c.Layers, "heads": c.Heads,
		"kv_heads": c.KVHeads, "vocab": c.Vocab, "context": c.SeqLen}
}

// Names lists c's tensors in file order (the split ones where their
// source is).
func (c Config) Names() []string {
	if c.Format == GPT2 {
		return gpt2Names
	}
	return TensorNames(c.Shared)
}

// Shapes gives the shape of each tensor of c.Names().
func (c Config) Shapes() map[string][]int {
	if c.Format == GPT2 {
		return gpt2Shapes(c)
	}
	return TensorShapes(c)
}

// PerLayer says whether c's tensor name has a slice per layer.
func (c Config) PerLayer(name string) bool {
	if c.Format == GPT2 {
		return gpt2PerLayer[name]
	}
	switch name {
	case "rms_att", "wq", "wk", "wv", "wo", "rms_ffn", "w1", "w2", "w3":
		return true
	}
	return false
}

// HeadSize is Dim / Heads.
func (c Config) HeadSize() int {
	if c.Heads == 0 {
		return 0
	}
	return c.Dim / c.Heads
}

// KVDim is KVHeads * HeadSize: the width of a key or value vector.
func (c Config) KVDim() int { return c.KVHeads * c.HeadSize() }

// describe renders c with the header's field names, e.g. "dim=64
// hidden_dim=172 n_layers=5 n_heads=8 n_kv_heads=4 vocab_size=512
// seq_len=512"; vocab_size is negative for an unshared classifier, as in
// the file.
func (c Config) describe() string {
	v := c.Vocab
	if !c.Shared {
		v = -v
	}
	return fmt.Sprintf("dim=%d hidden_dim=%d n_layers=%d n_heads=%d n_kv_heads=%d vocab_size=%d seq_len=%d",
		c.Dim, c.Hidden, c.Layers, c.Heads, c.KVHeads, v, c.SeqLen)
}

// Validate checks that every dimension is positive and at most MaxDim, that
// dim is a multiple of n_heads and n_heads a multiple of n_kv_heads, and
// that the checkpoint size fits in an int64. Messages use the header's field
// names.
func (c Config) Validate() error {
	fields := []struct {
		name string
		v    int
	}{
		{"dim", c.Dim}, {"hidden_dim", c.Hidden}, {"n_layers", c.Layers},
		{"n_heads", c.Heads}, {"n_kv_heads", c.KVHeads}, {"vocab_size", c.Vocab},
		{"seq_len", c.SeqLen},
	}
	for _, f := range fields {
		if f.v <= 0 {
			return fmt.Errorf("%s is %d, must be positive", f.name, f.v)
		}
		if f.v > MaxDim {
			return fmt.Errorf("%s is %d, more than the limit %d", f.name, f.v, MaxDim)
		}
	}
	if c.Dim%c.Heads != 0 {
		return fmt.Errorf("dim %d is not a multiple of n_heads %d", c.Dim, c.Heads)
	}
	if c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("n_heads %d is not a multiple of n_kv_heads %d", c.Heads, c.KVHeads)
	}
	if ExpectedSize(c) < 0 {
		return fmt.Errorf("%s needs more than %d bytes", c.describe(), int64(math.MaxInt64))
	}
	return nil
}

// TensorNames lists the checkpoint's tensors in file order; wcls (last)
// only when the classifier is not shared. The legacy RoPE tables
// (freq_cis_real, freq_cis_imag, between rms_final and wcls) are not
// tensors of the model.
func TensorNames(shared bool) []string {
	names := []string{"token_embedding", "rms_att", "wq", "wk", "wv", "wo",
		"rms_ffn", "w1", "w2", "w3", "rms_final"}
	if !shared {
		names = append(names, "wcls")
	}
	return names
}

// TensorShapes gives the shape of each tensor of TensorNames(c.Shared).
// Per-layer tensors have the layer count as first dimension; matrices are
// "out x in" (y = W x): wq [layers, dim, dim], wk and wv [layers, kv_dim,
// dim], wo [layers, dim, dim], w1 and w3 [layers, hidden, dim], w2 [layers,
// dim, hidden], rms_att and rms_ffn [layers, dim], token_embedding and wcls
// [vocab, dim], rms_final [dim].
func TensorShapes(c Config) map[string][]int {
	kv := c.KVDim()
	m := map[string][]int{
		"token_embedding": {c.Vocab, c.Dim},
		"rms_att":         {c.Layers, c.Dim},
		"wq":              {c.Layers, c.Dim, c.Dim},
		"wk":              {c.Layers, kv, c.Dim},
		"wv":              {c.Layers, kv, c.Dim},
		"wo":              {c.Layers, c.Dim, c.Dim},
		"rms_ffn":         {c.Layers, c.Dim},
		"w1":              {c.Layers, c.Hidden, c.Dim},
		"w2":              {c.Layers, c.Dim, c.Hidden},
		"w3":              {c.Layers, c.Hidden, c.Dim},
		"rms_final":       {c.Dim},
	}
	if !c.Shared {
		m["wcls"] = []int{c.Vocab, c.Dim}
	}
	return m
}

// legacyRoPEFloats is the number of floats of each of the two legacy RoPE
// tables, computed as llama2.c does: seq_len * head_size / 2 (integer
// division).
func legacyRoPEFloats(c Config) int64 {
	return int64(c.SeqLen) * int64(c.HeadSize()) / 2
}

// ExpectedSize is the size in bytes of a checkpoint file for c: the header,
// the tensors of TensorShapes(c), and the two legacy RoPE tables. It is -1
// when a dimension is negative or more than MaxDim, or when the size does
// not fit in an int64.
func ExpectedSize(c Config) int64 {
	if c.Format == GPT2 {
		return gpt2Size(c)
	}
	for _, d := range []int{c.Dim, c.Hidden, c.Layers, c.Heads, c.KVHeads, c.Vocab, c.SeqLen} {
		if d < 0 || d > MaxDim {
			return -1
		}
	}
	var a acc
	for _, shape := range TensorShapes(c) {
		a.add(a.prod(shape...))
	}
	if c.SeqLen > 0 && c.HeadSize() > 0 {
		// seq_len*head_size/2 twice; bounded by the product, so check it.
		p := a.prod(c.SeqLen, c.HeadSize())
		if !a.bad {
			a.add(2 * (p / 2))
		}
	}
	total := a.mul(a.n, 4)
	total = a.sum(total, HeaderSize)
	if a.bad || total > math.MaxInt64 {
		return -1
	}
	return int64(total)
}

// acc is overflow-checked uint64 arithmetic: bad records any overflow.
type acc struct {
	n   uint64
	bad bool
}

func (a *acc) mul(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	if hi != 0 {
		a.bad = true
	}
	return lo
}

func (a *acc) sum(x, y uint64) uint64 {
	s, carry := bits.Add64(x, y, 0)
	if carry != 0 {
		a.bad = true
	}
	return s
}

func (a *acc) prod(dims ...int) uint64 {
	p := uint64(1)
	for _, d := range dims {
		p = a.mul(p, uint64(d))
	}
	return p
}

func (a *acc) add(x uint64) { a.n = a.sum(a.n, x) }

// ParseHeader decodes and validates the header at the start of data (data
// may be the whole file): llama2.c's, or llm.c's GPT-2 one (its magic
// first).
func ParseHeader(data []byte) (Config, error) {
	if len(data) >= 4 && binary.LittleEndian.Uint32(data) == GPT2Magic {
		return parseGPT2Header(data)
	}
	if len(data) < HeaderSize {
		return Config{}, fmt.Errorf("checkpoint header is truncated: %d bytes, need %d", len(data), HeaderSize)
	}
	var h [7]int64
	for i := range h {
		h[i] = int64(int32(binary.LittleEndian.Uint32(data[4*i:])))
	}
	c := Config{
		Dim: int(h[0]), Hidden: int(h[1]), Layers: int(h[2]), Heads: int(h[3]),
		KVHeads: int(h[4]), Vocab: int(h[5]), SeqLen: int(h[6]), Shared: h[5] > 0,
	}
	if h[5] == 0 {
		return Config{}, errors.New("checkpoint header: vocab_size is 0, must be nonzero (negative means an unshared classifier)")
	}
	if h[5] < 0 {
		if h[5] < -MaxDim {
			return Config{}, fmt.Errorf("checkpoint header: vocab_size is %d, more than the limit %d in magnitude", h[5], MaxDim)
		}
		c.Vocab = int(-h[5])
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("checkpoint header: %w", err)
	}
	return c, nil
}

// ReadHeader reads and validates a checkpoint header from r, consuming
// exactly HeaderSize bytes when they are available.
func ReadHeader(r io.Reader) (Config, error) {
	buf := make([]byte, HeaderSize)
	n, err := io.ReadFull(r, buf)
	if err == nil && binary.LittleEndian.Uint32(buf) == GPT2Magic {
		// llm.c's header is longer.
		buf = append(buf, make([]byte, GPT2HeaderSize-HeaderSize)...)
		var m int
		m, err = io.ReadFull(r, buf[HeaderSize:])
		n += m
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ParseHeader(buf[:n])
	}
	if err != nil {
		return Config{}, fmt.Errorf("reading checkpoint header: %w", err)
	}
	return ParseHeader(buf)
}

// Model is a parsed checkpoint.
type Model struct {
	Config
	// Tensors holds every tensor of TensorNames(Shared) by name: wcls only
	// when the classifier is unshared; never the legacy RoPE tables.
	Tensors map[string]*Tensor
}

// Tensor is a named float32 array in row-major order.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Layer returns the slice of a per-layer tensor (first dimension = layers)
// for layer l: len(Data)/Shape[0] consecutive values. It shares Data.
func (t *Tensor) Layer(l int) []float32 {
	n := len(t.Data) / t.Shape[0]
	return t.Data[l*n : (l+1)*n : (l+1)*n]
}

// Parse decodes a whole checkpoint file. The file size must equal
// ExpectedSize of its header.
func Parse(data []byte) (*Model, error) {
	c, err := ParseHeader(data)
	if err != nil {
		return nil, err
	}
	if c.Format == GPT2 {
		return parseGPT2(c, data)
	}
	want := ExpectedSize(c)
	if int64(len(data)) != want {
		return nil, fmt.Errorf("checkpoint is %d bytes, but %s needs %d", len(data), c.describe(), want)
	}
	m := &Model{Config: c, Tensors: make(map[string]*Tensor)}
	shapes := TensorShapes(c)
	off := HeaderSize
	read := func(name string) {
		shape := shapes[name]
		n := 1
		for _, d := range shape {
			n *= d
		}
		t := &Tensor{Name: name, Shape: shape, Data: make([]float32, n)}
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*i:]))
		}
		off += 4 * n
		m.Tensors[name] = t
	}
	for _, name := range TensorNames(true) {
		read(name)
	}
	off += 4 * int(2*legacyRoPEFloats(c))
	if !c.Shared {
		read("wcls")
	}
	return m, nil
}

// Load reads and parses the checkpoint file at path. Parse errors are
// prefixed with the path.
func Load(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Write encodes m in the llama2.c checkpoint format, so that Parse(Write(m))
// equals m. The header's vocab_size is negated when the classifier is not
// shared. The legacy RoPE tables, which llama2.c skips, are filled as its
// legacy export does: cos, then sin, of pos / 10000^(2i/head_size) for each
// position and pair i (rounded to float32; PyTorch's float32 cos and sin
// differ from these in the last bit for about 5% of the values, so a
// re-written export matches its original except there). Write panics if m's config is invalid or a
// tensor is missing or has the wrong shape or length: it is meant for tests
// and tools that build models in memory.
func Write(m *Model) []byte {
	c := m.Config
	if err := c.Validate(); err != nil {
		panic("checkpoint.Write: " + err.Error())
	}
	out := make([]byte, 0, ExpectedSize(c))
	vocab := c.Vocab
	if !c.Shared {
		vocab = -vocab
	}
	for _, v := range []int{c.Dim, c.Hidden, c.Layers, c.Heads, c.KVHeads, vocab, c.SeqLen} {
		out = binary.LittleEndian.AppendUint32(out, uint32(int32(v)))
	}
	shapes := TensorShapes(c)
	put := func(name string) {
		t := m.Tensors[name]
		if t == nil {
			panic("checkpoint.Write: missing tensor " + name)
		}
		want := shapes[name]
		n := 1
		for _, d := range want {
			n *= d
		}
		if !equalInts(t.Shape, want) || len(t.Data) != n {
			panic(fmt.Sprintf("checkpoint.Write: tensor %s has shape %v and %d values, want shape %v", name, t.Shape, len(t.Data), want))
		}
		for _, v := range t.Data {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	for _, name := range TensorNames(true) {
		put(name)
	}
	for _, v := range legacyRoPETables(c) {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
	}
	if !c.Shared {
		put("wcls")
	}
	return out
}

// legacyRoPETables returns freq_cis_real followed by freq_cis_imag, each of
// legacyRoPEFloats(c) values laid out [pos][head_size/2].
func legacyRoPETables(c Config) []float32 {
	n := int(legacyRoPEFloats(c))
	out := make([]float32, 2*n)
	half := c.HeadSize() / 2
	if half == 0 {
		return out
	}
	for j := 0; j < n; j++ {
		pos, i := j/half, j%half
		freq := float32(1.0 / math.Pow(10000, float64(float32(2*i)/float32(c.HeadSize()))))
		angle := float32(pos) * freq
		out[j] = float32(math.Cos(float64(angle)))
		out[n+j] = float32(math.Sin(float64(angle)))
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
