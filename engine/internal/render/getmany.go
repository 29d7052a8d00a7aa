package render

import (
	"fmt"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/tetratelabs/wazero/api"
)

// dataGetMany is the optional import data_get_many (sdk/ABI.md §4): the
// keys of a Keys list (§5.6) read in one call to Data.GetMany, answered as
// a Values list (§5.7). Every key is a dependency, exactly as with
// data_get, whether it exists or not.
func (st *callState) dataGetMany(mem api.Memory, stack []uint64) {
	keys := readKeys(mem, uint32(stack[0]), uint32(stack[1]))
	for _, k := range keys {
		st.deps.key(k)
	}
	st.pending, st.hasPending = nil, false
	values, found, err := st.getMany(keys)
	if err != nil {
		st.doom(err)
		stack[0] = result32(abi.Unavailable)
		return
	}
	st.pending, st.hasPending = abi.AppendValues(nil, values, found), true
	if len(st.pending) > maxInt32 {
		panic(fmt.Errorf("kiln: data_get_many answer of %d bytes does not fit an i32", len(st.pending)))
	}
	stack[0] = uint64(len(st.pending))
}

const maxInt32 = 1<<31 - 1

// readKeys decodes the guest's Keys list, trapping on a malformed list, on
// more than abi.MaxGetMany keys or on a key longer than maxKeyLen.
func readKeys(mem api.Memory, ptr, n uint32) []string {
	keys, err := abi.DecodeKeys(read(mem, ptr, n))
	switch {
	case err != nil:
		panic(fmt.Errorf("kiln: data_get_many: keys: %w", err))
	case len(keys) > abi.MaxGetMany:
		panic(fmt.Errorf("kiln: data_get_many of %d keys exceeds %d", len(keys), abi.MaxGetMany))
	}
	for _, k := range keys {
		if len(k) > maxKeyLen {
			panic(fmt.Errorf("kiln: key of %d bytes exceeds %d", len(k), maxKeyLen))
		}
	}
	return keys
}

// getMany answers keys: reserved kiln: keys from the host, the others in
// one call to Data.GetMany.
func (st *callState) getMany(keys []string) ([][]byte, []bool, error) {
	if st.unavailable != nil {
		return nil, nil, st.unavailable
	}
	values, found := make([][]byte, len(keys)), make([]bool, len(keys))
	var rest []string
	var at []int // rest[j] is keys[at[j]]
	for i, k := range keys {
		if v, f, ok := st.reserved(k); ok {
			values[i], found[i] = v, f
			continue
		}
		rest, at = append(rest, k), append(at, i)
	}
	if len(rest) == 0 {
		return values, found, nil
	}
	vs, fs, err := st.cfg.Data.GetMany(st.ctx, rest)
	if err != nil {
		return nil, nil, err
	}
	if len(vs) != len(rest) || len(fs) != len(rest) {
		return nil, nil, fmt.Errorf("data source answered %d values and %d flags for %d keys: %w", len(vs), len(fs), len(rest), ErrUnavailable)
	}
	for j, i := range at {
		if fs[j] {
			values[i], found[i] = vs[j], true
		}
	}
	return values, found, nil
}
