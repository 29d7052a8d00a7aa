// Package hook connects the kiln package to kilntest when renderers run
// natively (not as WebAssembly): kilntest plays the host's part.
package hook

// Host is the data side of the ABI's host imports, in Go terms. Results
// follow sdk/ABI.md §4: n >= 0 is a value or page, -1 missing, -2 unavailable.
type Host interface {
	Get(key string) (value []byte, result int32)
	List(prefix, cursor string, limit int, reverse bool) (page []byte, result int32)
	Log(level int32, msg string)
}

// Many is the optional batched read (data_get_many): it takes an encoded
// Keys list and answers a Values list. It is apart from Host, and the wasm
// side calls its import from a plain function, so that a renderer that
// never calls kiln.GetMany does not import it (a method of Host would be
// kept by the linker whenever the renderer uses reflection).
type Many interface {
	GetMany(keys []byte) (values []byte, result int32)
}

// Native is the host used outside WebAssembly; kilntest sets it for the
// duration of a render.
var Native Host

// Serve runs one export (abi.ExportRender, ...) on an encoded request and
// returns the encoded answer, or the failure message when failed is true.
// The kiln package sets it.
var Serve func(export string, req []byte) (answer []byte, msg string, code int32)
