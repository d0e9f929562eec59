package loopgen

import (
	"testing"

	"github.com/stretchr/testify/assert"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
)

// pinSlots pins a layer slot that a proc reads (its segment param left
// in the slot), but not one that a proc adds to an offset it is passed
// (addSlot reads the word), nor one the build unpinned, nor any in the
// flat model.
func TestPinSlots(t *testing.T) {
	norm := &lir.Proc{Name: "norm", Params: []lir.Reg{0}}
	matmul := &lir.Proc{Name: "matmul", Params: []lir.Reg{0, 1}}
	f := &lir.Func{Procs: []*lir.Proc{norm, matmul}}
	pass := map[*lir.Proc]*passing{
		norm:   {args: []argLoc{{slot: addrLayerC}}},
		matmul: {args: []argLoc{{slot: addrLayerW}, {base: addrLayerW}}},
	}
	seg := &Layout{Segmented: true}
	assert.Equal(t, map[uint16]x86.Reg{addrLayerC: x86.GS}, pinSlots(f, seg, pass, nil), "the params' slot is added to an offset")
	pass[matmul].args[1].base = 0
	assert.Equal(t, map[uint16]x86.Reg{addrLayerW: x86.FS, addrLayerC: x86.GS}, pinSlots(f, seg, pass, nil))
	assert.Equal(t, map[uint16]x86.Reg{addrLayerW: x86.FS}, pinSlots(f, seg, pass, []uint16{addrLayerC}), "unpinned")
	assert.Empty(t, pinSlots(f, &Layout{}, pass, nil), "flat")
}
