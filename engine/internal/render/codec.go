package render

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kilnhq/kiln/sdk/go/abi"
)

// encodeRequest encodes req per sdk/ABI.md §5.2.
func encodeRequest(req Request) []byte {
	ar := abi.Request{Mode: uint32(req.Mode), Route: req.Route, Path: req.Path}
	if !req.PrevGenerated.IsZero() {
		ar.PrevGenerated = req.PrevGenerated.UnixMilli()
	}
	ar.Params = make([]abi.Param, len(req.Params))
	for i, p := range req.Params {
		ar.Params[i] = abi.Param{Name: p.Name, Value: p.Value}
	}
	return abi.AppendRequest(make([]byte, 0, 64+len(req.Route)+len(req.Path)), &ar)
}

var errMalformed = errors.New("malformed response")

// decodeResponse decodes and validates a guest's answer (§5.3) and fills
// the defaults: status 200 (404 when not found, 307 for a redirect) and
// Content-Type text/html.
func decodeResponse(b []byte) (*Response, error) {
	ar, err := abi.DecodeResponse(b)
	if err != nil {
		return nil, errMalformed
	}
	if err := abi.ValidateResponse(&ar); err != nil {
		return nil, err
	}
	resp := &Response{Status: int(ar.Status), Body: ar.Body, Redirect: ar.Redirect, Tags: ar.Tags,
		NotFound: ar.Flags&abi.FlagNotFound != 0, NoStore: ar.Flags&abi.FlagNoStore != 0,
		Revalidate: RevalidateDefault}
	if ar.Revalidate >= 0 {
		// Seconds past what a Duration holds (about 292 years) would
		// wrap to a short interval: they mean "practically never".
		resp.Revalidate = time.Duration(min(ar.Revalidate, int64(math.MaxInt64/time.Second))) * time.Second
	}
	if resp.Status == 0 {
		resp.Status = defaultStatus(resp)
	}
	resp.Headers = make([]Header, 0, len(ar.Headers)+1)
	for _, h := range ar.Headers {
		resp.Headers = append(resp.Headers, Header{Name: h.Name, Value: h.Value})
	}
	if !hasHeader(resp.Headers, "Content-Type") {
		resp.Headers = append(resp.Headers, Header{Name: "Content-Type", Value: "text/html; charset=utf-8"})
	}
	return resp, nil
}

func defaultStatus(r *Response) int {
	switch {
	case r.Redirect != "":
		return 307
	case r.NotFound:
		return 404
	}
	return 200
}

func hasHeader(hs []Header, name string) bool {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}

// decodePaths decodes a kiln_paths answer (§5.4); every path must be
// UTF-8 and start with "/".
func decodePaths(b []byte) ([]string, error) {
	paths, err := abi.DecodePaths(b)
	if err != nil {
		return nil, errMalformed
	}
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") || !utf8.ValidString(p) {
			return nil, fmt.Errorf("bad path %q: must start with /", p)
		}
	}
	return paths, nil
}
