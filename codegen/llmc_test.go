package codegen_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/checkpoint"
	"tfc/codegen"
	"tfc/frontend"
	"tfc/ir"
)

// A GPT-2 block and a Llama block with llm.c's tokenizer file: the pieces are raw bytes,
// the generation starts from the end-of-text token and stops there (not
// at llama2.c's BOS 1 or EOS 2, which GPT-2's vocabulary uses for other
// text), and a prompt is refused (the file has no merges). Both
// policies, in both memory models, print what tfc sim prints. Seed 11's model
// chooses 1 at its first step and then printable tokens (llama2.c's rule
// would stop at once); seed 3's ends at its end-of-text token 234 after
// 31 tokens (a loop that did not stop would print on); gelu-random's seed
// 51 chooses 2 at step 19 and printable tokens after it.
func TestLLMCTokenizer(t *testing.T) {
	for _, c := range []struct {
		example, seedLine string
		seed, eot, vocab  int
	}{
		{"gpt2-random", "weights   random seed 4", 11, 299, 300},
		{"gpt2-random", "weights   random seed 4", 3, 234, 300},
		{"gelu-random", "weights   random seed 2", 51, 383, 384},
	} {
		dir := t.TempDir()
		vocab := c.vocab
		pieces := make([][]byte, vocab)
		for i := range pieces {
			switch {
			case i == c.eot:
				pieces[i] = []byte("<|endoftext|>")
			case i < 256:
				pieces[i] = []byte{byte(i)}
			default:
				pieces[i] = []byte(fmt.Sprintf(" w%d", i))
			}
		}
		tok := filepath.Join(dir, "gpt2_tokenizer.bin")
		require.NoError(t, os.WriteFile(tok, checkpoint.WriteLLMCTokenizer(pieces, c.eot), 0o644))
		src, err := os.ReadFile(path(c.example))
		require.NoError(t, err)
		s := strings.Replace(string(src), "tokenizer synthetic", fmt.Sprintf("tokenizer %q", tok), 1)
		s = strings.Replace(s, `prompt = "the"`, `prompt = ""`, 1)
		s = strings.Replace(s, c.seedLine, fmt.Sprintf("weights   random seed %d", c.seed), 1)
		file := filepath.Join(dir, "gpt2.tf")
		require.NoError(t, os.WriteFile(file, []byte(s), 0o644))
		p, err := frontend.LoadFile(file, ir.Options{})
		require.NoError(t, err)
		prompt, err := p.PromptTokens()
		require.NoError(t, err, "prompt")
		require.Equal(t, []int{c.eot}, prompt, "prompt: the end-of-text token alone")
		_, err = p.Tokenizer.Encode("the", true, false)
		assert.Same(t, checkpoint.ErrNoMerges, err, "encoding a prompt: %v", err)
		toks, err := ir.Generate(ir.NewSim(p), p.Tokenizer, prompt, p.Gen.Steps, &strings.Builder{})
		require.NoError(t, err)
		require.Equal(t, c.seed == 3, toks[len(toks)-1] == c.eot,
			"seed %d: the model's tokens %v are not what this test needs: whether they end at end-of-text", c.seed, toks)
		if c.seed == 11 {
			require.Equal(t, 1, toks[0], "seed %d: the model's tokens %v are not what this test needs: the first", c.seed, toks)
		}
		if c.seed == 51 {
			require.Equal(t, 2, toks[19], "seed %d: the model's tokens %v are not what this test needs: the 20th", c.seed, toks)
		}
		want := simulate(t, p)
		for _, o := range []codegen.Options{{}, {Opt: "2"}, {Memory: "flat"}, {Opt: "2", Memory: "flat", March: "sse2"}} {
			im, err := codegen.Build(p, prompt, p.Gen.Steps, o)
			require.NoError(t, err, "%+v", o)
			res := boot(t, im.Bytes)
			assert.Equal(t, want, string(res.Serial), "seed %d, %+v (%s): COM1 (expected: the simulator's), exit %d", c.seed, o, im.Generator, res.ExitCode)
			assert.Equal(t, 0, res.ExitCode, "seed %d, %+v (%s): exit code", c.seed, o, im.Generator)
		}
	}
}
