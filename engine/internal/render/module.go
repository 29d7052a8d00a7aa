package render

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Module errors (sdk/ABI.md §1-2).
var (
	errNotWasm  = errors.New("not a WebAssembly module")
	errNoMarker = errors.New("not a Kiln renderer (no kiln_abi_version_N export)")
	errCompile  = errors.New("compile")
)

// exportSet says which optional exports a module has.
type exportSet struct {
	paths, fallback, initialize bool
}

var i32 = api.ValueTypeI32

// compile compiles bin on e and checks it against the ABI.
func compile(ctx context.Context, e *engine, bin []byte) (wazero.CompiledModule, exportSet, error) {
	cm, err := e.rt.CompileModule(ctx, bin)
	if err != nil {
		return nil, exportSet{}, fmt.Errorf("%w: %w", errCompile, err)
	}
	exports, err := checkModule(cm, e.wasi)
	if err != nil {
		cm.Close(ctx)
		return nil, exportSet{}, err
	}
	return cm, exports, nil
}

// checkModule applies the rules of sdk/ABI.md §1-3.
func checkModule(cm wazero.CompiledModule, wasi map[string]api.FunctionDefinition) (exportSet, error) {
	fns := cm.ExportedFunctions()
	if err := checkMarker(fns); err != nil {
		return exportSet{}, err
	}
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		return exportSet{}, errors.New("no exported memory named \"memory\"")
	}
	if _, ok := fns["_start"]; ok {
		return exportSet{}, errors.New("exports _start: a WASI command, not a reactor (build with -buildmode=c-shared or -mexec-model=reactor)")
	}
	if len(cm.ImportedMemories()) > 0 {
		return exportSet{}, errors.New("imports its memory: unknown import")
	}
	if err := checkImports(cm.ImportedFunctions(), wasi); err != nil {
		return exportSet{}, err
	}
	return checkExports(fns)
}

func checkMarker(fns map[string]api.FunctionDefinition) error {
	var versions []string
	for name, def := range fns {
		v, ok := strings.CutPrefix(name, abi.MarkerPrefix)
		if !ok {
			continue
		}
		if v == strconv.Itoa(abi.Version) {
			return checkSig(name, def, nil, nil)
		}
		versions = append(versions, v)
	}
	if len(versions) == 0 {
		return errNoMarker
	}
	slices.Sort(versions)
	return fmt.Errorf("unsupported Kiln ABI version %s (this engine speaks %d)", strings.Join(versions, ", "), abi.Version)
}

func checkExports(fns map[string]api.FunctionDefinition) (exportSet, error) {
	var set exportSet
	one := []api.ValueType{i32}
	for _, name := range []string{abi.ExportRender, abi.ExportPaths, abi.ExportFallback} {
		def, ok := fns[name]
		if !ok {
			if name == abi.ExportRender {
				return set, fmt.Errorf("missing export %s", name)
			}
			continue
		}
		if err := checkSig(name, def, one, one); err != nil {
			return set, err
		}
	}
	_, set.paths = fns[abi.ExportPaths]
	_, set.fallback = fns[abi.ExportFallback]
	if def, ok := fns["_initialize"]; ok {
		set.initialize = true
		if err := checkSig("_initialize", def, nil, nil); err != nil {
			return set, err
		}
	}
	return set, nil
}

func checkImports(imports []api.FunctionDefinition, wasi map[string]api.FunctionDefinition) error {
	for _, def := range imports {
		mod, name, _ := def.Import()
		want, ok := hostFuncs[name]
		switch {
		case mod == abi.ImportModule && ok:
			if err := checkSig(mod+"."+name, def, want.params, want.results); err != nil {
				return err
			}
		case mod == guardModule && name == guardFunc:
			if err := checkSig(mod+"."+name, def, nil, nil); err != nil {
				return err
			}
		case mod == "wasi_snapshot_preview1" && wasi[name] != nil:
			w := wasi[name]
			if err := checkSig(mod+"."+name, def, w.ParamTypes(), w.ResultTypes()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown import %s.%s", mod, name)
		}
	}
	return nil
}

func checkSig(name string, def api.FunctionDefinition, params, results []api.ValueType) error {
	if !slices.Equal(def.ParamTypes(), params) || !slices.Equal(def.ResultTypes(), results) {
		return fmt.Errorf("%s has signature %s, want %s", name,
			sig(def.ParamTypes(), def.ResultTypes()), sig(params, results))
	}
	return nil
}

func sig(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	return "func(" + names(params) + ") -> (" + names(results) + ")"
}
