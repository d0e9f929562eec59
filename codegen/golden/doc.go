// Package golden holds the golden tests "generated vs handwritten": each
// main kernel of a transformer has a handwritten NASM version
// (testdata/handwritten), which runs in QEMU on random inputs and must
// print what the simulator's arithmetic gives; the loop code generator's
// code for the same ops, cut from its build of the same model, must not be
// larger unless testdata/handwritten/KNOWN_GAPS.md says why (its
// correctness is the whole image's, which the image tests boot against tfc
// sim). `go test ./codegen/golden -update` rewrites
// testdata/handwritten/SIZES.md.
package golden
