package lir

// testMachine is a Machine for f with each buffer of f holding its bytes
// in data (zeros where data has none), at addresses from 0x10000 with a
// gap between buffers (as NewMachine lays out a program's).
func testMachine(f *Func, data map[*Buf][]byte) *Machine {
	m := &Machine{f: f, mem: map[*Buf][][]byte{}, addr: map[*Buf][]int64{}, regs: make([]int64, len(f.Types))}
	next := int64(0x10000)
	for _, b := range f.Bufs {
		s, ok := data[b]
		if !ok {
			s = make([]byte, b.Size)
		}
		m.mem[b], m.addr[b] = [][]byte{s}, []int64{next}
		m.spans = append(m.spans, span{next, s})
		next += (int64(len(s)) + 31) &^ 15
	}
	return m
}
