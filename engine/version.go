package main

import (
	"fmt"
	"runtime/debug"
)

func runVersion([]string) error {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	fmt.Println("kiln", v, "wasm ABI 1, data-source protocol 1")
	return nil
}
