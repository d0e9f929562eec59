package codegen

// MemoryBytes is the memory the image needs: every byte it uses (code,
// data, caches, activations) lies below this address. The full boot path's
// loader checks the machine's memory against it.
func (im *Image) MemoryBytes() int64 { return int64(im.Layout.End) }

// DefaultMemoryMiB is QEMU's default memory.
const DefaultMemoryMiB = 128

// MemoryMiB is the memory to give a PC that boots the image, in MiB: its
// end rounded up, 2 MiB more for what the BIOS keeps at the top of memory
// (ACPI tables), and QEMU's default at least.
func (im *Image) MemoryMiB() int { return MemoryMiBFor(im.MemoryBytes()) }

// MemoryMiBFor is MemoryMiB for an image that needs end bytes.
func MemoryMiBFor(end int64) int {
	const mib = 1 << 20
	return max(DefaultMemoryMiB, int((end+mib-1)/mib)+2)
}
