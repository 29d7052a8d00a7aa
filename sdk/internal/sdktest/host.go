package sdktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Data answers a renderer's data imports. An error means "unavailable".
type Data interface {
	Get(key string) (value []byte, found bool, err error)
	List(prefix, cursor string, limit int, reverse bool) (items []abi.Item, next string, err error)
}

// ErrDown is what MapData answers for keys and prefixes under its Down prefix.
var ErrDown = errors.New("sdktest: data source down")

// MapData is an in-memory Data. Keys and prefixes starting with Down (when
// not empty) are unavailable.
type MapData struct {
	Values map[string]string
	Down   string
}

func (m MapData) down(s string) bool { return m.Down != "" && strings.HasPrefix(s, m.Down) }

// Get implements Data.
func (m MapData) Get(key string) ([]byte, bool, error) {
	if m.down(key) {
		return nil, false, ErrDown
	}
	v, ok := m.Values[key]
	return []byte(v), ok, nil
}

// List implements Data: items after cursor in key order (or reverse), the
// cursor being the last key of the previous page.
func (m MapData) List(prefix, cursor string, limit int, reverse bool) ([]abi.Item, string, error) {
	if m.down(prefix) {
		return nil, "", ErrDown
	}
	keys := m.keys(prefix, cursor, reverse)
	if limit <= 0 {
		limit = 100
	}
	var items []abi.Item
	for _, k := range keys[:min(limit, len(keys))] {
		items = append(items, abi.Item{Key: k, Value: []byte(m.Values[k])})
	}
	if len(keys) <= limit {
		return items, "", nil
	}
	return items, items[len(items)-1].Key, nil
}

func (m MapData) keys(prefix, cursor string, reverse bool) []string {
	var keys []string
	for k := range m.Values {
		after := cursor == "" || (!reverse && k > cursor) || (reverse && k < cursor)
		if strings.HasPrefix(k, prefix) && after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if reverse {
		sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	}
	return keys
}

// Host is a minimal implementation of the host side of sdk/ABI.md, enough
// to check SDK modules without the engine.
type Host struct {
	rt wazero.Runtime
}

// NewHost starts a wazero runtime with WASI and the kiln imports.
func NewHost(ctx context.Context) (*Host, error) {
	rt := wazero.NewRuntime(ctx)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("instantiate wasi: %w", err)
	}
	if _, err := kilnImports(rt).Instantiate(ctx); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("instantiate kiln imports: %w", err)
	}
	return &Host{rt: rt}, nil
}

// Close releases the runtime and every module loaded in it.
func (h *Host) Close(ctx context.Context) error { return h.rt.Close(ctx) }

// Module is one checked, instantiated renderer.
type Module struct {
	name   string
	mod    api.Module
	fns    map[string]api.Function // exports looked up so far
	Stderr bytes.Buffer            // WASI stdout and stderr
}

// Load compiles wasm, checks it against the ABI, instantiates it and runs
// its _initialize export if it has one.
func (h *Host) Load(ctx context.Context, name string, wasm []byte) (*Module, error) {
	cm, err := h.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("%s: compile: %w", name, err)
	}
	if err := Check(cm); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	m := &Module{name: name, fns: map[string]api.Function{}}
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions().
		WithStdout(&m.Stderr).WithStderr(&m.Stderr)
	if m.mod, err = h.rt.InstantiateModule(ctx, cm, cfg); err != nil {
		return nil, fmt.Errorf("%s: instantiate: %w", name, err)
	}
	if init := m.mod.ExportedFunction("_initialize"); init != nil {
		if _, err := init.Call(ctx); err != nil {
			return nil, fmt.Errorf("%s: _initialize: %w", name, err)
		}
	}
	return m, nil
}

// Result is what one call of a kiln_* export did.
type Result struct {
	RC       int32
	Answer   []byte // the bytes passed to kiln.response
	Failure  string // the message passed to kiln.fail
	Logs     []string
	Keys     []string // keys passed to data_get and data_get_many
	Prefixes []string // prefixes passed to data_list
}

// Call runs export with the encoded request req. A trap, or returning 0
// without an answer, is an error; after a trap the Result still holds what
// the guest did before it (a failure message, logs), and the module must
// not be used again.
func (m *Module) Call(ctx context.Context, export string, req []byte, data Data) (*Result, error) {
	fn, ok := m.fns[export]
	if !ok {
		fn = m.mod.ExportedFunction(export) // reused: each lookup allocates a call stack
		m.fns[export] = fn
	}
	if fn == nil {
		return nil, fmt.Errorf("%s: no %s export", m.name, export)
	}
	c := &call{req: req, data: data}
	out, err := fn.Call(context.WithValue(ctx, callKey{}, c), uint64(len(req)))
	if err != nil {
		return &c.res, fmt.Errorf("%s: %s: %w (stderr %q)", m.name, export, err, m.Stderr.String())
	}
	c.res.RC = int32(uint32(out[0]))
	if c.res.RC == 0 && c.res.Answer == nil {
		return nil, fmt.Errorf("%s: %s returned 0 without an answer", m.name, export)
	}
	return &c.res, nil
}

type callKey struct{}

// call is the state of one export call, reached by the imports via ctx.
type call struct {
	req     []byte
	data    Data
	pending []byte
	hasPend bool
	res     Result
}

// RunCommand runs a WASI command module (tests compiled to wasm) and
// returns its stdout; a non-zero exit status is an error.
func RunCommand(ctx context.Context, wasm []byte) (string, error) {
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	var out bytes.Buffer
	_, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStdout(&out).WithStderr(&out))
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 {
		err = nil
	}
	return out.String(), err
}
