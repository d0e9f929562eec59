package checkpoint

import (
	"bufio"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoRoot is the directory holding go.mod, found upward from the test's
// working directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test directory")
		dir = parent
	}
}

// modelsDir finds the directory holding stories260K.bin and tok512.bin:
// ../shared/models seen from the repository root, else models/ in the
// repository root. The test is skipped when neither exists.
func modelsDir(t testing.TB) string {
	t.Helper()
	root := repoRoot(t)
	for _, dir := range []string{
		filepath.Join(root, "..", "shared", "models"),
		filepath.Join(root, "models"),
	} {
		if fileExists(filepath.Join(dir, "stories260K.bin")) && fileExists(filepath.Join(dir, "tok512.bin")) {
			return dir
		}
	}
	t.Skip("model files not found (../shared/models or models/ from the repository root)")
	return ""
}

// referenceDir finds llama2.c's reference outputs (../shared/reference
// from the repository root); the test is skipped when absent.
func referenceDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared", "reference")
	if !fileExists(filepath.Join(dir, "stories260K-bos-greedy.ids")) {
		t.Skip("reference outputs not found (../shared/reference from the repository root)")
	}
	return dir
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readIDs reads a reference .ids file: the prompt ids of its first line
// ("prompt: 1 ...") and the generated ids, one a line (other lines, such as
// "achieved tok/s: ...", are ignored).
func readIDs(t testing.TB, path string) (prompt, generated []int) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			first = false
			rest, ok := strings.CutPrefix(line, "prompt:")
			require.True(t, ok, "%s: first line %q lacks \"prompt:\"", path, line)
			for _, f := range strings.Fields(rest) {
				id, err := strconv.Atoi(f)
				require.NoError(t, err, path)
				prompt = append(prompt, id)
			}
			continue
		}
		if id, err := strconv.Atoi(line); err == nil {
			generated = append(generated, id)
		}
	}
	require.NoError(t, sc.Err(), path)
	return prompt, generated
}

// header encodes seven int32 header fields.
func header(fields ...int32) []byte {
	out := make([]byte, 0, 4*len(fields))
	for _, f := range fields {
		out = binary.LittleEndian.AppendUint32(out, uint32(f))
	}
	return out
}

// randomModel builds a model for c with weights from a seeded generator.
func randomModel(c Config, seed uint64) *Model {
	r := rand.New(rand.NewPCG(seed, 1))
	m := &Model{Config: c, Tensors: map[string]*Tensor{}}
	for name, shape := range TensorShapes(c) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(r.NormFloat64())
		}
		m.Tensors[name] = &Tensor{Name: name, Shape: shape, Data: data}
	}
	return m
}

// sameBits reports whether two models are equal, comparing floats by bits
// (so that NaNs from fuzzed files compare equal to themselves).
func sameBits(a, b *Model) bool {
	if a.Config != b.Config || len(a.Tensors) != len(b.Tensors) {
		return false
	}
	for name, ta := range a.Tensors {
		tb := b.Tensors[name]
		if tb == nil || ta.Name != tb.Name || !equalInts(ta.Shape, tb.Shape) || len(ta.Data) != len(tb.Data) {
			return false
		}
		for i := range ta.Data {
			if math.Float32bits(ta.Data[i]) != math.Float32bits(tb.Data[i]) {
				return false
			}
		}
	}
	return true
}

var tinyShared = Config{Dim: 8, Hidden: 12, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 16, SeqLen: 6, Shared: true}
var tinyUnshared = Config{Dim: 4, Hidden: 6, Layers: 1, Heads: 2, KVHeads: 1, Vocab: 5, SeqLen: 3}
