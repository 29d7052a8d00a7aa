package sdktest

import (
	"context"
	"fmt"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

const i32 = api.ValueTypeI32

// kilnSignatures lists the `kiln` imports (sdk/ABI.md §4): parameter
// count and whether the import returns an i32.
var kilnSignatures = map[string]struct {
	params int
	result bool
}{
	"request":   {1, false},
	"response":  {2, false},
	"fail":      {2, false},
	"data_get":  {2, true},
	"data_list": {6, true},
	// optional: the SDKs' examples do not import it
	"data_get_many": {2, true},
	"result":        {1, false},
	"log":           {3, false},
}

var kilnFuncs = map[string]func(c *call, m api.Module, s []uint64){
	"request":       hostRequest,
	"response":      hostResponse,
	"fail":          hostFail,
	"data_get":      hostDataGet,
	"data_list":     hostDataList,
	"data_get_many": hostDataGetMany,
	"result":        hostResult,
	"log":           hostLog,
}

func kilnImports(rt wazero.Runtime) wazero.HostModuleBuilder {
	b := rt.NewHostModuleBuilder("kiln")
	for name, sig := range kilnSignatures {
		fn := kilnFuncs[name]
		var results []api.ValueType
		if sig.result {
			results = []api.ValueType{i32}
		}
		params := make([]api.ValueType, sig.params)
		for i := range params {
			params[i] = i32
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
			fn(ctx.Value(callKey{}).(*call), m, s)
		}), params, results).Export(name)
	}
	return b
}

func read(m api.Module, ptr, n uint64) []byte {
	b, ok := m.Memory().Read(uint32(ptr), uint32(n))
	if !ok {
		panic(fmt.Errorf("sdktest: guest memory [%d, +%d) out of range", ptr, n))
	}
	return append([]byte(nil), b...)
}

func write(m api.Module, ptr uint64, b []byte) {
	if !m.Memory().Write(uint32(ptr), b) {
		panic(fmt.Errorf("sdktest: guest memory [%d, +%d) out of range", ptr, len(b)))
	}
}

func hostRequest(c *call, m api.Module, s []uint64) { write(m, s[0], c.req) }

func hostResponse(c *call, m api.Module, s []uint64) {
	if c.res.Answer != nil {
		panic(fmt.Errorf("sdktest: kiln.response called twice"))
	}
	c.res.Answer = read(m, s[0], s[1])
}

func hostFail(c *call, m api.Module, s []uint64) { c.res.Failure = string(read(m, s[0], s[1])) }

func hostLog(c *call, m api.Module, s []uint64) {
	c.res.Logs = append(c.res.Logs, fmt.Sprintf("%d %s", int32(s[0]), read(m, s[1], s[2])))
}

func hostResult(c *call, m api.Module, s []uint64) {
	if !c.hasPend {
		panic(fmt.Errorf("sdktest: kiln.result with nothing pending"))
	}
	write(m, s[0], c.pending)
	c.pending, c.hasPend = nil, false
}

func (c *call) setPending(b []byte) uint64 {
	c.pending, c.hasPend = b, true
	return uint64(uint32(len(b)))
}

const unavailable = uint64(0xffff_fffe) // -2 as an i32

func hostDataGet(c *call, m api.Module, s []uint64) {
	key := string(read(m, s[0], s[1]))
	c.res.Keys = append(c.res.Keys, key)
	c.pending, c.hasPend = nil, false
	v, found, err := c.data.Get(key)
	switch {
	case err != nil:
		s[0] = unavailable
	case !found:
		s[0] = uint64(0xffff_ffff) // -1
	default:
		s[0] = c.setPending(v)
	}
}

func hostDataList(c *call, m api.Module, s []uint64) {
	prefix := string(read(m, s[0], s[1]))
	cursor := string(read(m, s[2], s[3]))
	limit, reverse := int(int32(uint32(s[4]))), uint32(s[5]) != 0
	c.res.Prefixes = append(c.res.Prefixes, prefix)
	c.pending, c.hasPend = nil, false
	limit = min(limit, 1000)
	items, next, err := c.data.List(prefix, cursor, limit, reverse)
	if err != nil {
		s[0] = unavailable
		return
	}
	s[0] = c.setPending(abi.AppendListPage(nil, &abi.ListPage{Items: items, Next: next}))
}

func hostDataGetMany(c *call, m api.Module, s []uint64) {
	keys, err := abi.DecodeKeys(read(m, s[0], s[1]))
	if err != nil || len(keys) > abi.MaxGetMany {
		panic(fmt.Errorf("sdktest: data_get_many: %d keys, %v", len(keys), err))
	}
	c.res.Keys = append(c.res.Keys, keys...)
	c.pending, c.hasPend = nil, false
	values, found := make([][]byte, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		v, f, err := c.data.Get(k)
		if err != nil {
			s[0] = unavailable
			return
		}
		if f {
			values[i], found[i] = v, true
		}
	}
	s[0] = c.setPending(abi.AppendValues(nil, values, found))
}
