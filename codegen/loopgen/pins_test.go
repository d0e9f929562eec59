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
	assert.Equal(t, map[uint16]x86.Reg{addrLayerC: x86.GS}, pinSlots(f, seg, pass, nil, true), "the params' slot is added to an offset")
	pass[matmul].args[1].base = 0
	assert.Equal(t, map[uint16]x86.Reg{addrLayerW: x86.FS, addrLayerC: x86.GS}, pinSlots(f, seg, pass, nil, true))
	assert.Equal(t, map[uint16]x86.Reg{addrLayerW: x86.FS}, pinSlots(f, seg, pass, []uint16{addrLayerC}, true), "unpinned")
	assert.Empty(t, pinSlots(f, &Layout{}, pass, nil, true), "flat")

	// The caches' slot takes ES where neither a kernel under the pins
	// nor the code after forward (esAfter) reaches the activations'
	// group through it.
	es := map[uint16]x86.Reg{addrLayerW: x86.FS, addrLayerC: x86.ES}
	assert.Equal(t, es, pinSlots(f, seg, pass, nil, false))
	x, cache := &lir.Buf{Name: "x"}, &lir.Buf{Name: "cache"}
	seg.Group = map[*lir.Buf]Group{x: activations, cache: {Slot: addrLayerC}}
	in := func(op lir.Opcode, b *lir.Buf) []*lir.Node {
		return []*lir.Node{{Kind: lir.NInst, Inst: lir.Inst{Op: op, Dst: 1, Mem: lir.Mem{Buf: b, Width: 4}}}}
	}
	norm.Body = in(lir.OpLoad, cache)
	assert.Equal(t, es, pinSlots(f, seg, pass, nil, false), "a load from the cache")
	norm.Body = append(in(lir.OpSeg, x), in(lir.OpAddr, x)...)
	assert.Equal(t, es, pinSlots(f, seg, pass, nil, false), "its segment and offset are constants")
	norm.Body = in(lir.OpLoad, x)
	assert.Equal(t, map[uint16]x86.Reg{addrLayerW: x86.FS, addrLayerC: x86.GS}, pinSlots(f, seg, pass, nil, false), "a load from the group")
}
