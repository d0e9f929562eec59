package runtime

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Sector 0 ends as a master boot record does:
//
//	0x1B8  the disk signature: the tfc magic, "tfc" and the format version
//	0x1BC  flags: bit 0, the image reads COM1 (BootConfig.Input); then a
//	       zero byte
//	0x1BE  partition entry 1, covering the image after sector 0: active
//	       (0x80), type PartitionType, CHS and LBA of its first and last
//	       sectors in the geometry of Geometry
//	0x1CE  entries 2 to 4, zeros
//	0x1FE  0x55 0xAA
//
// Many BIOSes boot a USB drive as a hard disk only with a valid partition
// table (one active entry, the others empty); QEMU reads the geometry of
// an IDE or AHCI disk image from its first partition's end.
const (
	magicOffset     = 0x1B8
	flagsOffset     = 0x1BC
	partitionOffset = 0x1BE
	// PartitionType is "non-file-system data".
	PartitionType = 0xDA
)

// Magic is the disk signature of every tfc image.
var Magic = [4]byte{'t', 'f', 'c', 1}

// Geometry returns the heads and sectors per track of the geometry a BIOS
// gives a disk of n sectors without one of its own (SeaBIOS's LBA
// translation, for USB and AHCI disks; QEMU's IDE disks take the
// partition table's, which is this one; Bochs: 16 heads, 63 sectors):
// 63 sectors per track and 16 heads, doubled up to 128 (255 from 4 GiB
// on) while the disk has more than 1024 cylinders.
func Geometry(n int) (heads, spt int) {
	sect := n / 63
	switch h := sect / 1024; {
	case h > 128:
		return 255, 63
	case h > 64:
		return 128, 63
	case h > 32:
		return 64, 63
	case h > 16:
		return 32, 63
	}
	return 16, 63
}

// CylinderSectors returns n rounded up to whole cylinders of the geometry
// of the result: a BIOS computes the cylinders of a disk by dividing its
// sectors and rounding down, so that a disk of fewer sectors than one
// cylinder (1008) has none (SeaBIOS: "could not read the boot disk",
// Bochs: "No bootable device"), and sectors past the last whole cylinder
// cannot be read by CHS.
func CylinderSectors(n int) int {
	m := n
	for {
		h, s := Geometry(m)
		r := roundUp(n, h*s)
		if r == m {
			return m
		}
		m = r
	}
}

// chs encodes LBA sector lba in the geometry (heads, spt) as a partition
// entry does (head, sector | cylinder bits 8-9 << 6, cylinder bits 0-7);
// past 1023 cylinders, the largest value.
func chs(lba, heads, spt int) [3]byte {
	c := lba / (heads * spt)
	if c > 1023 {
		return [3]byte{254, 0xFF, 0xFF}
	}
	h, s := lba/spt%heads, lba%spt+1
	return [3]byte{byte(h), byte(s | c>>8<<6), byte(c)}
}

// writeMBR writes the magic, the flags and the partition table into img,
// whose length is whole cylinders.
func writeMBR(img []byte, input bool) {
	n := len(img) / SectorSize
	heads, spt := Geometry(n)
	copy(img[magicOffset:], Magic[:])
	if input {
		img[flagsOffset] |= 1
	}
	e := img[partitionOffset : partitionOffset+16]
	e[0] = 0x80
	first, last := chs(1, heads, spt), chs(n-1, heads, spt)
	copy(e[1:4], first[:])
	e[4] = PartitionType
	copy(e[5:8], last[:])
	binary.LittleEndian.PutUint32(e[8:], 1)
	binary.LittleEndian.PutUint32(e[12:], uint32(n-1))
}

// CheckImage reports whether a file of size bytes whose first sector is
// sector0 is a tfc image: whole sectors, the boot signature, the tfc
// magic, and a partition that covers the file.
func CheckImage(sector0 []byte, size int64) error {
	switch {
	case size < SectorSize || len(sector0) < SectorSize:
		return fmt.Errorf("not a tfc image: %d bytes, less than a sector", size)
	case sector0[510] != 0x55 || sector0[511] != 0xAA:
		return fmt.Errorf("not a tfc image: no boot signature (0x55 0xAA) at the end of its first sector")
	case !bytes.Equal(sector0[magicOffset:magicOffset+3], Magic[:3]):
		return fmt.Errorf("not a tfc image: no tfc signature in its first sector")
	case sector0[magicOffset+3] != Magic[3]:
		return fmt.Errorf("a tfc image of format %d; this tfc reads format %d", sector0[magicOffset+3], Magic[3])
	}
	e := sector0[partitionOffset:]
	count := int64(binary.LittleEndian.Uint32(e[12:]))
	if e[4] != PartitionType || binary.LittleEndian.Uint32(e[8:]) != 1 || size%SectorSize != 0 || count+1 != size/SectorSize {
		return fmt.Errorf("a tfc image of %d bytes, but its partition table says %d sectors: cut short or padded?", size, count+1)
	}
	return nil
}

// ReadsInput reports whether the tfc image whose first sector is sector0
// reads COM1 (BootConfig.Input).
func ReadsInput(sector0 []byte) bool {
	return len(sector0) > flagsOffset && sector0[flagsOffset]&1 != 0
}
