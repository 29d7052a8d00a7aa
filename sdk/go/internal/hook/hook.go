// Package hook connects the kiln package to kilntest when renderers run
// natively (not as WebAssembly): kilntest plays the host's part.
package hook

// Host is the data side of the ABI's host imports, in Go terms. Results
// follow sdk/ABI.md §4: n >= 0 is a value or page, -1 missing, -2 unavailable.
type Host interface {
	Get(key string) (value []byte, result int32)
	List(prefix, cursor string, limit int, reverse bool) (page []byte, result int32)
	// GetMany takes an encoded Keys list and answers a Values list.
	GetMany(keys []byte) (values []byte, result int32)
	Log(level int32, msg string)
}

// Native is the host used outside WebAssembly; kilntest sets it for the
// duration of a render.
var Native Host

// Serve runs one export (abi.ExportRender, ...) on an encoded request and
// returns the encoded answer, or the failure message when failed is true.
// The kiln package sets it.
var Serve func(export string, req []byte) (answer []byte, msg string, code int32)
