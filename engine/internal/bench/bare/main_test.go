package main

import (
	"testing"

	"github.com/valyala/fasthttp"
)

func TestServeChoosesVariant(t *testing.T) {
	plain := &replay{status: 200, body: []byte("plain"),
		header: [][2][]byte{{[]byte("Content-Type"), []byte("text/html")}}}
	gz := &replay{status: 200, body: []byte("gz"),
		header: [][2][]byte{{[]byte("Content-Type"), []byte("text/html")}, {[]byte("Content-Encoding"), []byte("gzip")}}}
	tests := []struct {
		v              *variants
		acceptEncoding string
		wantBody, ce   string
	}{
		{&variants{identity: plain, gzip: gz}, "", "plain", ""},
		{&variants{identity: plain, gzip: gz}, "gzip", "gz", "gzip"},
		{&variants{identity: plain, gzip: gz}, "br, gzip", "gz", "gzip"},
		{&variants{identity: plain, gzip: gz}, "br", "plain", ""},
		{&variants{identity: plain}, "gzip", "plain", ""},
	}
	for _, tt := range tests {
		var ctx fasthttp.RequestCtx
		if tt.acceptEncoding != "" {
			ctx.Request.Header.Set("Accept-Encoding", tt.acceptEncoding)
		}
		tt.v.serve(&ctx)
		if got := string(ctx.Response.Body()); got != tt.wantBody {
			t.Errorf("Accept-Encoding %q: body %q, want %q", tt.acceptEncoding, got, tt.wantBody)
		}
		if got := string(ctx.Response.Header.Peek("Content-Encoding")); got != tt.ce {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tt.acceptEncoding, got, tt.ce)
		}
	}
}
