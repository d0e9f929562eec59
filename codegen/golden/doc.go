// Package golden holds the golden tests "generated vs handwritten": each
// main kernel of the small code generator (isel.SmallKernel) and a
// handwritten NASM version of it (testdata/handwritten) run in QEMU on the
// same random inputs; both must print what the simulator's arithmetic gives,
// and the generated one must not be larger unless testdata/handwritten/
// KNOWN_GAPS.md says why. `go test ./codegen/golden -update` rewrites
// testdata/handwritten/SIZES.md.
package golden
