package regalloc

import "math/bits"

// set is a bit set of node parts: bit 4*node+part.
type set []uint64

// words is the length of a set of nodes.
func words(nodes int) int { return (4*nodes + 63) / 64 }

func newSet(nodes int) set { return make(set, words(nodes)) }

// newSets is n sets of nodes from one allocation: an analysis needs four
// per instruction, and the allocator's search runs many analyses.
func newSets(n, nodes int) []set {
	w := words(nodes)
	back := make(set, n*w)
	s := make([]set, n)
	for i := range s {
		s[i] = back[i*w : (i+1)*w : (i+1)*w]
	}
	return s
}

func (s set) add(node int, parts uint8) { s[node/16] |= uint64(parts) << (4 * (node % 16)) }
func (s set) parts(node int) uint8      { return uint8(s[node/16]>>(4*(node%16))) & partAll }
func (s set) has(node int) bool         { return s.parts(node) != 0 }

func (s set) copyFrom(t set) { copy(s, t) }
func (s set) or(t set) {
	for i := range s {
		s[i] |= t[i]
	}
}
func (s set) equal(t set) bool {
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// nodes lists the nodes with any part in s, in increasing order.
func (s set) nodes() []int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w) // parts, at least one per node: enough room
	}
	ns := make([]int, 0, n)
	for i, w := range s {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			n := i*16 + b/4
			ns = append(ns, n)
			w &^= 0xF << (b / 4 * 4)
		}
	}
	return ns
}
