package sdktest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ErrABI is wrapped by every ABI violation Check reports.
var ErrABI = errors.New("sdktest: module breaks the renderer ABI")

// Check applies the module rules of sdk/ABI.md §1-3 to a compiled module.
func Check(cm wazero.CompiledModule) error {
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		return fmt.Errorf("%w: no memory export", ErrABI)
	}
	if len(cm.ImportedMemories()) > 0 {
		return fmt.Errorf("%w: imports a memory", ErrABI)
	}
	if err := checkExports(cm.ExportedFunctions()); err != nil {
		return err
	}
	return checkImports(cm.ImportedFunctions())
}

func checkExports(exports map[string]api.FunctionDefinition) error {
	if _, ok := exports["_start"]; ok {
		return fmt.Errorf("%w: exports _start (a WASI command, not a reactor)", ErrABI)
	}
	if err := checkMarker(exports); err != nil {
		return err
	}
	if _, ok := exports["kiln_render"]; !ok {
		return fmt.Errorf("%w: no kiln_render export", ErrABI)
	}
	for _, name := range []string{"kiln_render", "kiln_paths", "kiln_fallback"} {
		if fn, ok := exports[name]; ok && !signature(fn, 1, true) {
			return fmt.Errorf("%w: %s has the wrong signature", ErrABI, name)
		}
	}
	if fn, ok := exports["_initialize"]; ok && !signature(fn, 0, false) {
		return fmt.Errorf("%w: _initialize has the wrong signature", ErrABI)
	}
	return nil
}

func checkMarker(exports map[string]api.FunctionDefinition) error {
	var versions []string
	for name := range exports {
		if v, ok := strings.CutPrefix(name, "kiln_abi_version_"); ok {
			versions = append(versions, v)
		}
	}
	switch {
	case len(versions) == 0:
		return fmt.Errorf("%w: no kiln_abi_version_N export", ErrABI)
	case len(versions) > 1 || versions[0] != "1":
		return fmt.Errorf("%w: markers for versions %v, want only 1", ErrABI, versions)
	case !signature(exports["kiln_abi_version_1"], 0, false):
		return fmt.Errorf("%w: kiln_abi_version_1 has the wrong signature", ErrABI)
	}
	return nil
}

func checkImports(imports []api.FunctionDefinition) error {
	for _, fn := range imports {
		mod, name, _ := fn.Import()
		switch mod {
		case "wasi_snapshot_preview1":
		case "kiln":
			sig, ok := kilnSignatures[name]
			if !ok || !signature(fn, sig.params, sig.result) {
				return fmt.Errorf("%w: bad import kiln.%s", ErrABI, name)
			}
		default:
			return fmt.Errorf("%w: imports %s.%s", ErrABI, mod, name)
		}
	}
	return nil
}

// signature reports whether fn takes n i32s and returns one i32 or nothing.
func signature(fn api.FunctionDefinition, n int, result bool) bool {
	if len(fn.ParamTypes()) != n {
		return false
	}
	for _, t := range fn.ParamTypes() {
		if t != i32 {
			return false
		}
	}
	if !result {
		return len(fn.ResultTypes()) == 0
	}
	return len(fn.ResultTypes()) == 1 && fn.ResultTypes()[0] == i32
}
