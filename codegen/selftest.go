package codegen

import (
	x86 "tfc/codegen/x86_16"
	"tfc/ir"
	"tfc/runtime"
)

// selfTestSteps is how many steps a self-test image checks: enough for
// every layer, cache position and op to have run on real data, few enough
// to take a moment before the story.
const selfTestSteps = 8

// emitSelfTest appends the runtime's self-test with the simulator's
// tokens and logits for the first steps of the generation the image
// makes (prompt, steps), at the code generator's addresses.
func emitSelfTest(main *x86.Program, p *ir.Program, prompt []int, steps int, tok, pos uint16, logits, rng uint32) error {
	s := runtime.SelfTest{TokAddr: tok, PosAddr: pos, Logits: logits, Rng: rng}
	sim := ir.NewSim(p)
	token := prompt[0]
	for i := 0; i < min(steps, selfTestSteps); i++ {
		next := sim.Step(token, i)
		raw := sim.RawLogits()
		s.Tokens, s.Sums, s.N = append(s.Tokens, token), append(s.Sums, runtime.SelfTestSum(raw)), len(raw)
		if i+1 < len(prompt) {
			next = prompt[i+1]
		}
		if p.Tokenizer.Ends(next) {
			break
		}
		token = next
	}
	return runtime.EmitSelfTest(main, s)
}
