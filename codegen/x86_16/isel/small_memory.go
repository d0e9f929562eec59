package isel

import (
	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// The weights pointer: BX in FS (segmented), EBX (flat).
func (s *small) w() x86.Reg {
	if s.seg {
		return x86.BX
	}
	return x86.EBX
}

func (s *small) wmem(disp int32) x86.Mem {
	if s.seg {
		return x86.Mem{Base: x86.BX, Disp: disp, Seg: x86.FS}
	}
	return x86.Mem{Base: x86.EBX, Disp: disp, Addr32: true}
}

// cmem is cache memory through ptr: GS:[bx] (segmented), [ebx] (flat).
func (s *small) cmem(ptr x86.Reg, disp int32) x86.Mem {
	if s.seg {
		return x86.Mem{Base: ptr, Disp: disp, Seg: x86.GS}
	}
	return x86.Mem{Base: ptr + (x86.EAX - x86.AX), Disp: disp, Addr32: true}
}

// creg is a cache pointer register: 16-bit (segmented) or 32-bit (flat).
func (s *small) creg(r x86.Reg) x86.Reg {
	if s.seg {
		return r
	}
	return r + (x86.EAX - x86.AX)
}

// useFS points FS at the weights: this layer's (per-layer params, from
// low memory, once per layer block) or the segment seg.
func (s *small) useFS(perLayer bool, seg uint32) {
	if perLayer {
		if !s.fsLayer {
			s.i(x86.MOV, x86.FS, low16(addrLayerW))
			s.fsLayer = true
		}
		return
	}
	s.setSeg(x86.FS, x86.Imm(int64(seg)))
	s.fsLayer = false
}

// pointW sets the weights pointer to param q's first row.
func (s *small) pointW(q *ir.Param) {
	loc := s.l.Params[q]
	switch {
	case s.seg && loc.PerLayer:
		s.useFS(true, 0)
		s.movImm(x86.BX, loc.Addr)
	case s.seg:
		s.useFS(false, loc.Addr>>4)
		s.movImm(x86.BX, loc.Addr&15)
	case loc.PerLayer:
		s.i(x86.MOV, x86.EBX, low32(addrLayerW))
		if loc.Addr != 0 {
			s.i(x86.ADD, x86.EBX, x86.Imm(int64(loc.Addr)))
		}
	default:
		s.i(x86.MOV, x86.EBX, x86.Imm(int64(loc.Addr)))
	}
}

// pointWRel sets the weights pointer for the matmul and rmsnorm
// subroutines: as pointW (segmented), or (flat) relative to the layer base
// in low memory, which the subroutine adds: the layer base itself before and
// inside the layer loop, its value after the last layer after it.
func (s *small) pointWRel(q *ir.Param) {
	if s.seg {
		s.pointW(q)
		return
	}
	off := s.relW(q)
	if off == 0 {
		s.i(x86.XOR, x86.EBX, x86.EBX)
		return
	}
	s.i(x86.MOV, x86.EBX, x86.Imm(off))
}

// relW is param q's address relative to the layer base the flat code keeps
// in low memory at this point of forward.
func (s *small) relW(q *ir.Param) int64 {
	loc := s.l.Params[q]
	if loc.PerLayer || s.sharedInLoop(q) {
		return int64(loc.Addr)
	}
	base, step := s.l.layerW()
	if s.block == ir.PostBlock {
		base += uint32(s.p.Layers) * step
	}
	return int64(int32(loc.Addr - base))
}

// sharedInLoop: flat code in the layer loop reads q, a param that every
// layer shares. The subroutines add the layer base to every weights
// address, and the base moves with each layer, so q's address is absolute
// and the call runs with the base 0 (withoutLayerBase).
func (s *small) sharedInLoop(q *ir.Param) bool {
	return !s.seg && s.block == ir.LayerBlock && !s.l.Params[q].PerLayer
}

// withoutLayerBase runs call, a call of a subroutine that reads q, with
// the flat layer base 0 when q is sharedInLoop: saved on the stack, cleared,
// restored after.
func (s *small) withoutLayerBase(q *ir.Param, call func()) {
	if !s.sharedInLoop(q) {
		call()
		return
	}
	s.i(x86.PUSH, low32(addrLayerW))
	s.i(x86.AND, low32(addrLayerW), x86.Imm(0))
	call()
	s.i(x86.POP, low32(addrLayerW))
}

// addLayerBase is the subroutines' half of pointWRel.
func (s *small) addLayerBase() {
	if !s.seg {
		s.i(x86.ADD, x86.EBX, low32(addrLayerW))
	}
}

// advanceW moves the weights pointer by n bytes.
func (s *small) advanceW(n int) {
	if n == 1 || (n == 2 && s.seg) {
		for ; n > 0; n-- {
			s.i(x86.INC, s.w())
		}
		return
	}
	s.i(x86.ADD, s.w(), x86.Imm(int64(n)))
}

// wlods is a string load from the weights: FS:SI (segmented), [ESI]
// (flat, a32).
func (s *small) wlods(o x86.Op) {
	if s.seg {
		s.i(x86.SegOverride(x86.FS) | o)
	} else {
		s.i(x86.A32 | o)
	}
}

// loadWeight loads the next weight of eb bytes by wlods, sign-extended
// into eax.
func (s *small) loadWeight(eb int) {
	if eb == 1 {
		s.wlods(x86.LODSB)
		s.i(x86.CBW)
	} else {
		s.wlods(x86.LODSW)
	}
	s.i(x86.CWDE)
}

func v16(a uint32) x86.Imm { return x86.Imm(int64(a)) }

// layerPtr is the layer loop's weights or cache pointer: a segment (word)
// in the segmented model, a linear address (dword) in the flat one.
func (s *small) layerPtr(a uint16) x86.Mem {
	if s.seg {
		return low16(a)
	}
	return low32(a)
}
