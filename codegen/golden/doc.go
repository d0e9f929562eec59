// Package golden holds the golden tests "generated vs handwritten": each
// main kernel of the small code generator (isel.SmallKernel) and a
// handwritten NASM version of it (testdata/handwritten) run in QEMU on the
// same random inputs; both must print what the simulator's arithmetic gives,
// and the generated one must not be larger unless testdata/handwritten/
// KNOWN_GAPS.md says why. The loop code generator's kernels, cut from its
// build of the same model, are held to the same bar (their size only: they
// run within the whole image). `go test ./codegen/golden -update` rewrites
// testdata/handwritten/SIZES.md.
package golden
