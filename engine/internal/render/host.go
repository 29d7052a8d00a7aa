package render

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Caps on guest-supplied lengths the host copies; a guest asking for more
// traps instead of making the host allocate.
const (
	maxKeyLen = 64 << 10
	maxMsgLen = 64 << 10
)

// errNoResult is a trap: result called with nothing pending.
var errNoResult = errors.New("kiln.result: nothing pending")

// hostFunc is one function of the kiln host module (sdk/ABI.md §4).
type hostFunc struct {
	params, results []api.ValueType
	fn              func(st *callState, mem api.Memory, stack []uint64)
}

var hostFuncs = map[string]hostFunc{
	"request":   {[]api.ValueType{i32}, nil, (*callState).request},
	"response":  {[]api.ValueType{i32, i32}, nil, (*callState).response},
	"fail":      {[]api.ValueType{i32, i32}, nil, (*callState).fail},
	"data_get":  {[]api.ValueType{i32, i32}, []api.ValueType{i32}, (*callState).dataGet},
	"data_list": {[]api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}, (*callState).dataList},
	"result":    {[]api.ValueType{i32}, nil, (*callState).result},
	"log":       {[]api.ValueType{i32, i32, i32}, nil, (*callState).log},

	// Optional: a module that does not import it loads all the same.
	abi.ImportGetMany: {[]api.ValueType{i32, i32}, []api.ValueType{i32}, (*callState).dataGetMany},
}

// hostModule builds the kiln host module. It is shared by every renderer of
// a wazero runtime: each call finds its state in the context.
func hostModule(r wazero.Runtime) wazero.HostModuleBuilder {
	b := r.NewHostModuleBuilder(abi.ImportModule)
	for name, f := range hostFuncs {
		fn := f.fn
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(
			func(ctx context.Context, mod api.Module, stack []uint64) {
				st, ok := ctx.Value(stateKey{}).(*callState)
				if !ok {
					panic(errors.New("kiln host function called outside a render"))
				}
				st.ctx = ctx
				fn(st, mod.Memory(), stack)
			}), f.params, f.results).Export(name)
	}
	return b
}

type stateKey struct{}

// callState is the host's side of one export call.
type callState struct {
	ctx    context.Context
	cfg    *Config
	path   string       // the request's path, for the render's log records
	logger *slog.Logger // cfg.Logger with the path, made at the first kiln.log
	req    []byte

	answer      []byte
	answered    bool
	tooLarge    int // the length of a refused response, if any
	failMsg     string
	pending     []byte
	hasPending  bool
	unavailable error
	deps        depSet
	responses   int        // kiln.response calls
	logs        *logBudget // the instance's: stdout, stderr and kiln.log
}

// read copies n bytes at ptr out of guest memory, trapping when out of range.
func read(mem api.Memory, ptr, n uint32) []byte {
	b, ok := mem.Read(ptr, n)
	if !ok {
		panic(fmt.Errorf("kiln: read [%d, %d+%d) out of memory bounds", ptr, ptr, n))
	}
	return b
}

func write(mem api.Memory, ptr uint32, b []byte) {
	if !mem.Write(ptr, b) {
		panic(fmt.Errorf("kiln: write [%d, %d+%d) out of memory bounds", ptr, ptr, len(b)))
	}
}

// readStr copies a guest string of at most limit bytes.
func readStr(mem api.Memory, ptr, n uint32, limit int, what string) string {
	if int(n) > limit {
		panic(fmt.Errorf("kiln: %s of %d bytes exceeds %d", what, n, limit))
	}
	return string(read(mem, ptr, n))
}

func (st *callState) request(mem api.Memory, stack []uint64) {
	write(mem, uint32(stack[0]), st.req)
}

func (st *callState) response(mem api.Memory, stack []uint64) {
	st.spendResponse()
	ptr, n := uint32(stack[0]), uint32(stack[1])
	st.answered = true
	if uint64(n) > uint64(st.cfg.MaxResponse) {
		st.tooLarge, st.answer = int(n), nil
		return
	}
	st.answer = append(st.answer[:0], read(mem, ptr, n)...)
}

func (st *callState) fail(mem api.Memory, stack []uint64) {
	n := min(uint32(stack[1]), maxMsgLen)
	st.failMsg = strings.ToValidUTF8(string(read(mem, uint32(stack[0]), n)), "\uFFFD")
}

func (st *callState) dataGet(mem api.Memory, stack []uint64) {
	key := readStr(mem, uint32(stack[0]), uint32(stack[1]), maxKeyLen, "key")
	st.deps.key(key)
	st.pending, st.hasPending = nil, false
	value, found, err := st.get(key)
	switch {
	case err != nil:
		st.doom(err)
		stack[0] = result32(abi.Unavailable)
	case !found:
		stack[0] = result32(abi.Missing)
	default:
		st.pending, st.hasPending = value, true
		stack[0] = uint64(len(value))
	}
}

// get answers one key: reserved kiln: keys from the host, the rest from Data.
func (st *callState) get(key string) ([]byte, bool, error) {
	if st.unavailable != nil {
		return nil, false, st.unavailable
	}
	if value, found, ok := st.reserved(key); ok {
		return value, found, nil
	}
	return st.cfg.Data.Get(st.ctx, key)
}

// reserved answers the keys the host owns (kiln:...), and every key when
// there is no data source; ok is false for a key Data must answer.
func (st *callState) reserved(key string) (value []byte, found, ok bool) {
	rest, isKiln := strings.CutPrefix(key, "kiln:")
	switch {
	case !isKiln:
		return nil, false, st.cfg.Data == nil
	case st.cfg.Assets == nil:
		return nil, false, true
	}
	name, isAsset := strings.CutPrefix(rest, "asset:")
	if !isAsset {
		return nil, false, true
	}
	url, found := st.cfg.Assets(name)
	return []byte(url), found, true
}

func (st *callState) dataList(mem api.Memory, stack []uint64) {
	prefix := readStr(mem, uint32(stack[0]), uint32(stack[1]), maxKeyLen, "prefix")
	cursor := readStr(mem, uint32(stack[2]), uint32(stack[3]), maxKeyLen, "cursor")
	limit := int(int32(stack[4]))
	if limit <= 0 {
		limit = abi.DefaultListLimit
	}
	st.deps.prefix(prefix)
	st.pending, st.hasPending = nil, false
	page, err := st.list(prefix, cursor, min(limit, abi.MaxListLimit), uint32(stack[5]) != 0)
	if err != nil {
		st.doom(err)
		stack[0] = result32(abi.Unavailable)
		return
	}
	st.pending, st.hasPending = abi.AppendListPage(nil, &page), true
	stack[0] = uint64(len(st.pending))
}

func (st *callState) list(prefix, cursor string, limit int, reverse bool) (abi.ListPage, error) {
	if st.unavailable != nil {
		return abi.ListPage{}, st.unavailable
	}
	if strings.HasPrefix(prefix, "kiln:") || st.cfg.Data == nil {
		return abi.ListPage{}, nil
	}
	items, next, err := st.cfg.Data.List(st.ctx, prefix, cursor, limit, reverse)
	if err != nil {
		return abi.ListPage{}, err
	}
	page := abi.ListPage{Items: make([]abi.Item, len(items)), Next: next}
	for i, it := range items {
		page.Items[i] = abi.Item{Key: it.Key, Value: it.Value}
	}
	return page, nil
}

// doom records the first data-source failure: the render fails with it
// whatever the guest does next.
func (st *callState) doom(err error) {
	if st.unavailable == nil {
		st.unavailable = err
	}
}

func (st *callState) result(mem api.Memory, stack []uint64) {
	if !st.hasPending {
		panic(errNoResult)
	}
	write(mem, uint32(stack[0]), st.pending)
	st.pending, st.hasPending = nil, false
}

func (st *callState) log(mem api.Memory, stack []uint64) {
	level := slog.LevelInfo
	switch int32(stack[0]) {
	case 0:
		level = slog.LevelDebug
	case 2:
		level = slog.LevelWarn
	case 3:
		level = slog.LevelError
	}
	n := min(uint32(stack[2]), maxMsgLen)
	st.logs.spend(int(n))
	msg := strings.ToValidUTF8(string(read(mem, uint32(stack[1]), n)), "\uFFFD")
	if st.logger == nil {
		st.logger = st.cfg.Logger.With("path", st.path)
	}
	st.logger.Log(st.ctx, level, msg)
}

// result32 is an i32 result as wazero stacks hold it.
func result32(v int32) uint64 { return uint64(uint32(v)) }

// depSet records keys and prefixes in first-use order, without repeats.
type depSet struct {
	Deps
	seen   map[string]bool
	budget depBudget
}

func (d *depSet) key(k string) {
	if d.add("k" + k) {
		d.Keys = append(d.Keys, k)
	}
}

func (d *depSet) prefix(p string) {
	if d.add("p" + p) {
		d.Prefixes = append(d.Prefixes, p)
	}
}

func (d *depSet) add(s string) bool {
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	if d.seen[s] {
		return false
	}
	d.budget.admit(len(s) - 1)
	d.seen[s] = true
	return true
}
