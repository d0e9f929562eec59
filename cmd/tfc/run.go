package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"tfc/codegen"
	"tfc/ir"
	"tfc/qemu"
	"tfc/runtime"
)

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run FILE.tf|disk.img [--prompt TEXT] [--steps N] [flags]")
	b := addBuildFlags(fs)
	display := fs.Bool("display", false, "show the VGA window instead of running headless; it stays open after the story until you close it")
	screenshot := fs.String("screenshot", "", "write the screen as the image left it to this PNG file")
	frames := fs.String("frames", "", "write the screen to this folder as PNG files (frame-0001.png, …) every --frame-every while the image runs, and at its end")
	frameEvery := fs.Duration("frame-every", 250*time.Millisecond, "the time between two --frames")
	timeout := fs.Duration("timeout", 10*time.Minute, "stop QEMU after this long")
	bench := fs.Bool("bench", false, "report the pace on stderr: tokens per second between the first and the last token, and the guest's time stamp counter per token (instructions, with --icount); an image file has these counters when tfc build --bench made it, else the pace is in bytes of the story")
	icount := fs.Bool("icount", false, "run under -icount shift=0,sleep=off: rdtsc counts guest instructions exactly")
	memSize := fs.Int("memory-size", 0, "the machine's memory in MiB (default: what the image needs, at least QEMU's 128)")
	profile := fs.Bool("profile", false, "report on stderr, after the story, each op's guest instructions per token, the largest first, and per multiply-accumulate "+
		"for matmuls and attention (exact: implies --icount); it builds with the loop code generator (--gen loop) at -Os's or -O2's policy "+
		"and boots the build without the counters beside it, whose --icount total the profile's must match; a .tf file only")
	path, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if *profile && !strings.HasSuffix(path, ".tf") {
		return usageErrorf("run: --profile needs a .tf file: it builds an image that counts each op's instructions, which %s has not", path)
	}
	image := path
	memory := 0    // MiB the image needs
	input := false // it reads COM1: a typed prompt
	var prof *profiled
	if strings.HasSuffix(path, ".tf") {
		var p *ir.Program
		var im *codegen.Image
		if *profile {
			if prof, err = b.compileProfile(fs, path, stderr); err != nil {
				return err
			}
			p, im = prof.p, prof.im
			*icount = true
		} else if p, im, err = b.compileWith(fs, path, stderr, *bench); err != nil {
			return err
		}
		input = p.Gen.Typed
		f, err := os.CreateTemp("", "tfc-*.img")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		if _, err := f.Write(im.Bytes); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		image = f.Name()
		memory = im.MemoryMiB()
		fmt.Fprintf(stderr, "tfc: built %s: code %d bytes, data %d bytes, %s memory model, needs %s of memory\n",
			path, im.CodeBytes(), dataTotal(im), im.Memory, memoryText(im.MemoryBytes()))
	} else if set := flagsSet(fs); slices.ContainsFunc(genFlagNames, func(n string) bool { return set[n] }) {
		return usageErrorf("run: --prompt, --steps and llama2.c's -n -i -t -p -s -z need a .tf file: an image's prompt and sampler are built in")
	} else if input, err = checkImage(path); err != nil {
		return err
	}
	if memory == 0 {
		// An image file: its data, which the memory holds, and a quarter
		// more for caches and activations (--memory-size says exactly).
		st, err := os.Stat(image)
		if err != nil {
			return err
		}
		memory = codegen.MemoryMiBFor(1<<20 + st.Size() + st.Size()/4)
	}
	if *memSize != 0 {
		if *memSize < 1 {
			return usageErrorf("--memory-size must be positive, not %d", *memSize)
		}
		memory = *memSize
	}
	o := qemu.Options{Timeout: *timeout, Display: *display, KeepOpen: *display, Stdout: stdout, Icount: *icount, MemoryMiB: memory,
		Screenshot: *screenshot, Frames: *frames, FrameEvery: *frameEvery}
	if input {
		o.Stdin = stdin
	}
	var dir string
	if *bench || prof != nil {
		if dir, err = os.MkdirTemp("", "tfc-bench"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.Debugcon = filepath.Join(dir, "debugcon")
	}
	ctx, cancel := context.WithCancel(context.Background())
	type boot struct {
		res *qemu.Result
		err error
	}
	var ref chan boot
	var wg sync.WaitGroup
	// Before dir goes: a QEMU left writes there until it ends.
	defer wg.Wait()
	defer cancel()
	if prof != nil && !input {
		// Beside the profiled run, on the other core: -icount's counts
		// do not depend on the host's pace.
		ref = make(chan boot, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := prof.bootRef(ctx, o, filepath.Join(dir, "ref"))
			ref <- boot{res, err}
		}()
	}
	// Until the story starts, a terminal shows that QEMU is booting (a
	// large image takes a while to load).
	pr := startProgress(stderr)
	if st, err := os.Stat(image); err == nil {
		pr.Phase(fmt.Sprintf("booting in QEMU: the image loads %d sectors", st.Size()/512))
	}
	defer pr.Stop()
	o.Stdout = &firstWrite{w: stdout, f: pr.Stop}
	res, err := qemu.Boot(ctx, image, o)
	pr.Stop()
	if err != nil {
		return err
	}
	if *bench {
		if err := benchReport(o.Debugcon, res, *icount, stderr); err != nil {
			return err
		}
	}
	if prof != nil && res.ExitCode == 0 {
		var total, steps uint64
		if ref != nil {
			r := <-ref
			if r.err == nil && r.res.ExitCode != 0 {
				r.err = fmt.Errorf("the build without the profile's counters stopped with code %d", r.res.ExitCode)
			}
			if r.err != nil {
				return fmt.Errorf("--profile: %v", r.err)
			}
			if total, steps, err = benchCounts(filepath.Join(dir, "ref")); err != nil {
				return fmt.Errorf("--profile: the build without counters: %v", err)
			}
		}
		if err := prof.report(o.Debugcon, total, steps, stderr); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "tfc: QEMU ran %v, guest exit code %d\n", res.Elapsed.Round(time.Millisecond), res.ExitCode)
	if res.ExitCode != 0 {
		return &exitError{1, fmt.Sprintf("the image stopped with code %d", res.ExitCode)}
	}
	return nil
}

// benchReport prints what a bench build measured. An image built without
// the counters (an image file tfc build made without --bench) reports
// nothing: then the pace is the story's bytes per second.
func benchReport(debugcon string, res *qemu.Result, icount bool, stderr io.Writer) error {
	b, err := os.ReadFile(debugcon)
	if err != nil {
		return err
	}
	span := res.LastOutput - res.FirstOutput
	if len(b) == 0 {
		rate := 0.0
		if span > 0 {
			rate = float64(len(res.Serial)) / span.Seconds()
		}
		fmt.Fprintf(stderr, "tfc: bench: %d bytes of story; %.1f bytes/s between the first and the last byte (%v); "+
			"the image has no bench counters (tfc build --bench makes an image that counts tokens and cycles)\n",
			len(res.Serial), rate, span.Round(time.Millisecond))
		return nil
	}
	var cycles, steps uint64
	if _, err := fmt.Sscanf(string(b), "%x %x", &cycles, &steps); err != nil || steps == 0 {
		return fmt.Errorf("bench: the image reported %q (built with --bench?)", b)
	}
	fmt.Fprintf(stderr, "tfc: bench: %d tokens; %.1f tokens/s between the first and the last token (%v)\n",
		steps, float64(steps-1)/span.Seconds(), span.Round(time.Millisecond))
	unit := "time stamp counter ticks (host TSC under TCG)"
	if icount {
		unit = "guest instructions"
	}
	fmt.Fprintf(stderr, "tfc: bench: %d %s over the generation, %d per token\n", cycles, unit, cycles/steps)
	return nil
}

// checkImage refuses a file that is not a tfc image (runtime.CheckImage),
// before QEMU boots it, and says whether the image reads COM1 (a typed
// prompt: runtime.ReadsInput).
func checkImage(path string) (input bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	b := make([]byte, runtime.SectorSize)
	n, _ := io.ReadFull(f, b)
	if err := runtime.CheckImage(b[:n], st.Size()); err != nil {
		return false, &exitError{1, fmt.Sprintf("%s: %v", path, err)}
	}
	return runtime.ReadsInput(b), nil
}

// stdin is what tfc run forwards to a typed-prompt image's COM1 and tfc
// sim reads a typed prompt's lines from (tests set it).
var stdin io.Reader = os.Stdin

// memoryText prints a memory size in bytes and MiB.
func memoryText(n int64) string {
	return fmt.Sprintf("%d bytes (%.1f MiB)", n, float64(n)/(1<<20))
}
