package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

func runVersion(args []string) error {
	fs := newFlagSet("version", "", "Print kiln's version, the Go it was built with, and the versions of the\nrenderer ABI and the data-source protocol it speaks.")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{code: 2, err: fmt.Errorf("version takes no arguments")}
	}
	fmt.Printf("kiln %s (%s), wasm ABI 1, data-source protocol 1\n", version(), runtime.Version())
	return nil
}

// version is the module version the binary was built at (go install
// ...@v1.2.3), else the VCS revision go build stamped, else "(devel)".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "(devel)"
	}
	return "(devel) " + rev + dirty
}
