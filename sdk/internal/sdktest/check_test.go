package sdktest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/sdk/internal/sdktest"
)

// TestCheckRejects builds modules the way the READMEs warn against and
// checks that the ABI check refuses them with the right reason.
func TestCheckRejects(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: compiles two modules from scratch")
	}
	tests := []struct {
		name string
		lang sdktest.Lang
		file string   // written to TMP/file: a C main, or an empty asconfig
		argv []string // run in the SDK folder; TMP is replaced by a temporary folder
		want string
	}{
		{"c command", sdktest.C, "int main(void) { return 0; }\n",
			[]string{"clang", "--target=wasm32-wasi", "-O2", "-o", "TMP/bad.wasm", "conformance/main.c", "-x", "c", "TMP/file"},
			"_start"},
		{"assemblyscript env.abort", sdktest.AssemblyScript, "{}\n",
			[]string{"node_modules/.bin/asc", "conformance/index.ts", "--config", "TMP/file", "--runtime", "incremental",
				"--exportStart", "_initialize", "-O2", "-o", "TMP/bad.wasm"},
			"env.abort"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cachedBuild(tc.lang, "conformance"); errors.Is(err, sdktest.ErrToolchain) && os.Getenv("CI") == "" {
				t.Skip(err)
			}
			tmp := t.TempDir()
			writeFile(t, filepath.Join(tmp, "file"), tc.file)
			argv := append([]string(nil), tc.argv...)
			for i := range argv {
				argv[i] = strings.ReplaceAll(argv[i], "TMP", tmp)
			}
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Dir = sdkPath(t, string(tc.lang))
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %v\n%s", argv, err, b)
			}
			code, err := os.ReadFile(filepath.Join(tmp, "bad.wasm"))
			must(t, err)
			ctx := context.Background()
			h, err := sdktest.NewHost(ctx)
			must(t, err)
			defer h.Close(ctx)
			_, err = h.Load(ctx, tc.name, code)
			if !errors.Is(err, sdktest.ErrABI) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load error = %v, want an ABI error naming %q", err, tc.want)
			}
		})
	}
}
