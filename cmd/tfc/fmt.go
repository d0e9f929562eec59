package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"tfc/format"
)

// cmdFmt prints .tf files in canonical form (package format), or, with
// -w, rewrites those that are not; -l lists them.
func cmdFmt(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fmt", "fmt [-w] [-l] FILE.tf…")
	write := fs.Bool("w", false, "rewrite each file that is not in canonical form, instead of printing it")
	list := fs.Bool("l", false, "list the files that are not in canonical form, instead of printing them")
	var files []string
	for {
		fs.SetOutput(stderr)
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return &exitError{2, ""}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		files = append(files, args[0])
		args = args[1:]
	}
	if len(files) == 0 {
		fs.Usage()
		return &exitError{2, "fmt: want one or more input files"}
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out, err := format.Source(path, src)
		if err != nil {
			return err
		}
		changed := !bytes.Equal(src, out)
		if *list && changed {
			fmt.Fprintln(stdout, path)
		}
		if *write && changed {
			st, err := os.Stat(path)
			if err != nil {
				return err
			}
			if err := os.WriteFile(path, out, st.Mode().Perm()); err != nil {
				return err
			}
		}
		if !*write && !*list {
			if _, err := stdout.Write(out); err != nil {
				return err
			}
		}
	}
	return nil
}
