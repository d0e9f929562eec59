package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"tfc/qemu"
)

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run FILE.tf|disk.img [--prompt TEXT] [--steps N] [flags]")
	b := addBuildFlags(fs)
	display := fs.Bool("display", false, "show the VGA window instead of running headless")
	timeout := fs.Duration("timeout", 10*time.Minute, "stop QEMU after this long")
	path, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	image := path
	if strings.HasSuffix(path, ".tf") {
		_, im, err := b.compile(fs, path, stderr)
		if err != nil {
			return err
		}
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
		fmt.Fprintf(stderr, "tfc: built %s: code %d bytes, data %d bytes, %s memory model\n", path, im.CodeBytes(), len(im.Layout.Data), im.Memory)
	} else if fs.Lookup("prompt").Value.String() != "" || fs.Lookup("steps").Value.String() != "0" {
		return usageErrorf("run: --prompt and --steps need a .tf file: an image's prompt is built in")
	}
	res, err := qemu.Boot(context.Background(), image, qemu.Options{Timeout: *timeout, Display: *display, Stdout: stdout})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "tfc: QEMU ran %v, guest exit code %d\n", res.Elapsed.Round(time.Millisecond), res.ExitCode)
	if res.ExitCode != 0 {
		return &exitError{1, fmt.Sprintf("the image stopped with code %d", res.ExitCode)}
	}
	return nil
}
