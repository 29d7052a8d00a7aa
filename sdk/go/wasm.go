//go:build wasip1

package kiln

import (
	"slices"
	"unsafe"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/kilnhq/kiln/sdk/go/internal/hook"
)

// The host imports of sdk/ABI.md §4.

//go:wasmimport kiln request
func hostRequest(ptr unsafe.Pointer)

//go:wasmimport kiln response
func hostResponse(ptr unsafe.Pointer, n uint32)

//go:wasmimport kiln fail
func hostFail(ptr unsafe.Pointer, n uint32)

//go:wasmimport kiln data_get
func hostDataGet(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport kiln data_list
func hostDataList(prefix unsafe.Pointer, prefixLen uint32, cursor unsafe.Pointer, cursorLen uint32, limit, reverse int32) int32

// data_get_many is optional in the ABI: the linker drops this import from
// a renderer that never calls GetMany, so it still loads on engines older
// than the import.
//
//go:wasmimport kiln data_get_many
func hostDataGetMany(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport kiln result
func hostResult(ptr unsafe.Pointer)

//go:wasmimport kiln log
func hostLog(level int32, ptr unsafe.Pointer, n uint32)

// The exports of sdk/ABI.md §2-3.

//go:wasmexport kiln_abi_version_1
func abiVersion1() {}

//go:wasmexport kiln_render
func kilnRender(reqLen int32) int32 { return call(abi.ExportRender, reqLen) }

//go:wasmexport kiln_paths
func kilnPaths(reqLen int32) int32 { return call(abi.ExportPaths, reqLen) }

//go:wasmexport kiln_fallback
func kilnFallback(reqLen int32) int32 { return call(abi.ExportFallback, reqLen) }

// reqBuf and answerBuf are reused by every call: an instance serves one
// call at a time, the request is decoded into fresh strings, and the host
// copies the answer before the call returns.
var reqBuf, answerBuf []byte

func call(export string, reqLen int32) int32 {
	reqBuf = slices.Grow(reqBuf[:0], int(reqLen))[:reqLen]
	if reqLen > 0 {
		hostRequest(unsafe.Pointer(&reqBuf[0]))
	}
	answer, msg, code := serve(export, reqBuf, answerBuf[:0])
	if answer != nil && cap(answer) <= maxKeptAnswer {
		answerBuf = answer
	}
	switch {
	case code != 0 && msg != "":
		hostFail(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	case code == 0:
		hostResponse(unsafe.Pointer(unsafe.SliceData(answer)), uint32(len(answer)))
	}
	return code
}

// maxKeptAnswer bounds the answer buffer kept between calls, so one huge
// page does not pin its memory for the instance's life.
const maxKeptAnswer = 1 << 20

type wasmHost struct{}

var host hook.Host = wasmHost{}

func (wasmHost) Get(key string) ([]byte, int32) {
	n := hostDataGet(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)))
	return pending(n), n
}

func (wasmHost) List(prefix, cursor string, limit int, reverse bool) ([]byte, int32) {
	rev := int32(0)
	if reverse {
		rev = 1
	}
	n := hostDataList(unsafe.Pointer(unsafe.StringData(prefix)), uint32(len(prefix)),
		unsafe.Pointer(unsafe.StringData(cursor)), uint32(len(cursor)), int32(limit), rev)
	return pending(n), n
}

// getMany is data_get_many; see hook.Many for why it is not a method.
func getMany(keys []byte) ([]byte, int32) {
	n := hostDataGetMany(unsafe.Pointer(unsafe.SliceData(keys)), uint32(len(keys)))
	return pending(n), n
}

// pending fetches the pending result of n bytes, if any.
func pending(n int32) []byte {
	if n <= 0 {
		return nil
	}
	b := make([]byte, n)
	hostResult(unsafe.Pointer(&b[0]))
	return b
}

func (wasmHost) Log(level int32, msg string) {
	hostLog(level, unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}
