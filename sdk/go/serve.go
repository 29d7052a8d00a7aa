package kiln

import (
	"errors"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/kilnhq/kiln/sdk/go/internal/hook"
)

// notImplemented is what an export returns when its handler is not set:
// the host treats the export as absent (sdk/ABI.md §3).
const notImplemented int32 = -1

func init() {
	hook.Serve = func(export string, req []byte) ([]byte, string, int32) { return serve(export, req, nil) }
}

// serve runs one export on an encoded request. It returns the encoded
// answer, appended to buf, or a failure message and a non-zero code.
// Panics in handlers are recovered into failures, so the instance survives
// them.
func serve(export string, reqBytes, buf []byte) (answer []byte, msg string, code int32) {
	defer func() {
		if p := recover(); p != nil {
			answer, msg, code = nil, fmt.Sprintf("panic: %v", p), 1
		}
	}()
	ar, err := abi.DecodeRequest(reqBytes)
	if err != nil {
		return nil, err.Error(), 1
	}
	req := fromABI(&ar)
	switch export {
	case abi.ExportRender:
		return respond(handlers.render, req, buf)
	case abi.ExportFallback:
		return respond(handlers.fallback, req, buf)
	case abi.ExportPaths:
		return paths(req, buf)
	}
	return nil, "unknown export " + export, 1
}

func respond(h func(*Request) (*Response, error), req *Request, buf []byte) ([]byte, string, int32) {
	if h == nil {
		return nil, "", notImplemented
	}
	resp, err := h(req)
	if err != nil {
		return nil, err.Error(), failCode(err)
	}
	if resp == nil {
		return nil, "handler returned a nil response", 1
	}
	ar := toABI(resp)
	return abi.AppendResponse(buf, &ar), "", 0
}

func paths(req *Request, buf []byte) ([]byte, string, int32) {
	if handlers.paths == nil {
		return nil, "", notImplemented
	}
	ps, err := handlers.paths(req)
	if err != nil {
		return nil, err.Error(), failCode(err)
	}
	return abi.AppendPaths(buf, ps), "", 0
}

// failCode is the non-zero code a failed export returns.
func failCode(err error) int32 {
	if errors.Is(err, ErrUnavailable) {
		return 2
	}
	return 1
}

func fromABI(ar *abi.Request) *Request {
	req := &Request{Mode: Mode(ar.Mode), Route: ar.Route, Path: ar.Path}
	if ar.PrevGenerated != 0 {
		req.PrevGenerated = time.UnixMilli(ar.PrevGenerated)
	}
	for _, p := range ar.Params {
		req.Params = append(req.Params, Param{Name: p.Name, Value: p.Value})
	}
	return req
}

func toABI(r *Response) abi.Response {
	ar := abi.Response{Status: uint32(r.Status), Revalidate: seconds(r.Revalidate),
		Redirect: r.Redirect, Tags: r.Tags, Body: r.Body}
	if r.NotFound {
		ar.Flags |= abi.FlagNotFound
	}
	if r.NoStore {
		ar.Flags |= abi.FlagNoStore
	}
	for _, h := range r.Headers {
		ar.Headers = append(ar.Headers, abi.Header{Name: h.Name, Value: h.Value})
	}
	return ar
}

// seconds converts a Revalidate duration to the ABI's: -1, 0, or whole
// seconds rounded up.
func seconds(d time.Duration) int64 {
	switch {
	case d < 0:
		return -1
	case d == 0:
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
