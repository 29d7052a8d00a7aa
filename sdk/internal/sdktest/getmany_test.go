package sdktest_test

import (
	"context"
	"testing"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/kilnhq/kiln/sdk/internal/sdktest"
	"github.com/tetratelabs/wazero"
)

// TestGetManyOptional checks that each SDK imports data_get_many only into
// a module that uses it: the conformance renderer does, the example does
// not, so the example still loads on an engine without the import.
func TestGetManyOptional(t *testing.T) {
	for _, lang := range sdktest.Langs {
		t.Run(string(lang), func(t *testing.T) {
			for target, want := range map[string]bool{"conformance": true, "example": false} {
				if got := importsGetMany(t, wasm(t, lang, target)); got != want {
					t.Errorf("%s imports %s: %v, want %v", target, abi.ImportGetMany, got, want)
				}
			}
		})
	}
}

func importsGetMany(t *testing.T, bin []byte) bool {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, def := range cm.ImportedFunctions() {
		if mod, name, _ := def.Import(); mod == abi.ImportModule && name == abi.ImportGetMany {
			return true
		}
	}
	return false
}
