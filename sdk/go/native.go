//go:build !wasip1

package kiln

import (
	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/kilnhq/kiln/sdk/go/internal/hook"
)

// nativeHost answers data calls outside WebAssembly through hook.Native,
// which kilntest sets; without it every read fails as unavailable.
type nativeHost struct{}

var host hook.Host = nativeHost{}

func (nativeHost) Get(key string) ([]byte, int32) {
	if hook.Native == nil {
		return nil, abi.Unavailable
	}
	return hook.Native.Get(key)
}

func (nativeHost) List(prefix, cursor string, limit int, reverse bool) ([]byte, int32) {
	if hook.Native == nil {
		return nil, abi.Unavailable
	}
	return hook.Native.List(prefix, cursor, limit, reverse)
}

func getMany(keys []byte) ([]byte, int32) {
	if m, ok := hook.Native.(hook.Many); ok {
		return m.GetMany(keys)
	}
	return nil, abi.Unavailable
}

func (nativeHost) Log(level int32, msg string) {
	if hook.Native != nil {
		hook.Native.Log(level, msg)
	}
}
