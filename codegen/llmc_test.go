package codegen_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tfc/checkpoint"
	"tfc/codegen"
	"tfc/frontend"
	"tfc/ir"
)

// A GPT-2 block (the loop code generator) and a Llama block (the small
// templates at -Os) with llm.c's tokenizer file: the pieces are raw bytes,
// the generation starts from the end-of-text token and stops there (not
// at llama2.c's BOS 1 or EOS 2, which GPT-2's vocabulary uses for other
// text), and a prompt is refused (the file has no merges). Every
// generator and memory model prints what tfc sim prints. Seed 11's model
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
		if err := os.WriteFile(tok, checkpoint.WriteLLMCTokenizer(pieces, c.eot), 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile(path(c.example))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(src), "tokenizer synthetic", fmt.Sprintf("tokenizer %q", tok), 1)
		s = strings.Replace(s, `prompt = "the"`, `prompt = ""`, 1)
		s = strings.Replace(s, c.seedLine, fmt.Sprintf("weights   random seed %d", c.seed), 1)
		file := filepath.Join(dir, "gpt2.tf")
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := frontend.LoadFile(file, ir.Options{})
		if err != nil {
			t.Fatal(err)
		}
		prompt, err := p.PromptTokens()
		if err != nil || len(prompt) != 1 || prompt[0] != c.eot {
			t.Fatalf("prompt %v, %v: want the end-of-text token alone", prompt, err)
		}
		if _, err := p.Tokenizer.Encode("the", true, false); err != checkpoint.ErrNoMerges {
			t.Errorf("encoding a prompt: %v", err)
		}
		toks, err := ir.Generate(ir.NewSim(p), p.Tokenizer, prompt, p.Gen.Steps, &strings.Builder{})
		if err != nil {
			t.Fatal(err)
		}
		ends := toks[len(toks)-1] == c.eot
		if ends != (c.seed == 3) || toks[0] != 1 && c.seed == 11 || c.seed == 51 && toks[19] != 2 {
			t.Fatalf("seed %d: the model's tokens %v are not what this test needs", c.seed, toks)
		}
		want := simulate(t, p)
		for _, o := range []codegen.Options{{}, {Opt: "2"}, {Memory: "flat"}, {Opt: "2", Memory: "flat", March: "sse2"}} {
			im, err := codegen.Build(p, prompt, p.Gen.Steps, o)
			if err != nil {
				t.Fatal(err)
			}
			res := boot(t, im.Bytes)
			if string(res.Serial) != want || res.ExitCode != 0 {
				t.Errorf("seed %d, %+v (%s): exit %d, COM1:\n%q\nwant:\n%q", c.seed, o, im.Generator, res.ExitCode, res.Serial, want)
			}
		}
	}
}
