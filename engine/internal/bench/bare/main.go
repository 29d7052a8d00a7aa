// Command bare is the ceiling Kiln's hit path is measured against: a
// fasthttp server with nothing in front of it, answering every request
// with one response held in memory.
//
// At start it fetches -from (a page of a running `kiln serve`) once per
// encoding in -encodings and then replays that response's status, headers
// and body bytes, setting the headers on every request as Kiln does, so a
// load tool compares the same bytes on the wire and the difference is
// Kiln's own work: routing, the store's hot cache, freshness and cache
// headers, metrics. A request whose Accept-Encoding has gzip gets the
// gzip response, when gzip was fetched; any other gets the identity one.
//
//	bare -listen 127.0.0.1:8081 -from http://127.0.0.1:8080/p/a -encodings identity,gzip
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "`address` to listen on")
	from := flag.String("from", "", "`URL` whose response is replayed")
	encs := flag.String("encodings", "identity", "comma-separated `list` of identity and gzip: the responses fetched from -from")
	kilnSettings := flag.Bool("kiln-settings", false, "use the timeouts and buffer sizes of Kiln's fasthttp.Server")
	flag.Parse()
	if err := run(*listen, *from, *encs, *kilnSettings); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

func run(listen, from, encs string, kilnSettings bool) error {
	if from == "" {
		return errors.New("-from is required")
	}
	v := &variants{}
	for enc := range strings.SplitSeq(encs, ",") {
		switch enc = strings.TrimSpace(enc); enc {
		case "identity":
			r, err := fetch(from, "")
			if err != nil {
				return err
			}
			v.identity = r
		case "gzip":
			r, err := fetch(from, "gzip")
			if err != nil {
				return err
			}
			v.gzip = r
		default:
			return fmt.Errorf("-encodings: %q is not identity or gzip", enc)
		}
	}
	if v.identity == nil {
		return errors.New("-encodings must include identity")
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &fasthttp.Server{Handler: v.serve, Name: "kiln", NoDefaultContentType: true}
	if kilnSettings {
		// As engine/internal/server.New: every request then sets read and
		// write deadlines on its connection.
		srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = 30*time.Second, 60*time.Second, 120*time.Second
		srv.MaxRequestBodySize, srv.ReadBufferSize = 64<<20, 16<<10
		srv.DisablePreParseMultipartForm = true
	}
	fmt.Printf("bare: replaying %s (%s) on http://%s\n", from, v, ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; srv.Shutdown() }()
	return srv.Serve(ln)
}

// replay is one stored response.
type replay struct {
	status int
	header [][2][]byte // canonical name, value
	body   []byte
}

// skip are the headers fasthttp writes by itself.
var skip = map[string]bool{"Date": true, "Server": true, "Content-Length": true, "Connection": true}

// fetch GETs url once and keeps its response.
func fetch(url, enc string) (*replay, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	if enc != "" {
		req.Header.Set("Accept-Encoding", enc)
	}
	if err := fasthttp.Do(req, resp); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return nil, fmt.Errorf("fetch %s: status %d", url, resp.StatusCode())
	}
	r := &replay{status: resp.StatusCode(), body: append([]byte(nil), resp.Body()...)}
	for k, v := range resp.Header.All() {
		if !skip[string(k)] {
			r.header = append(r.header, [2][]byte{append([]byte(nil), k...), append([]byte(nil), v...)})
		}
	}
	return r, nil
}

// variants are the stored responses, by encoding.
type variants struct {
	identity, gzip *replay
}

var strGzip = []byte("gzip")

// serve answers with the gzip response when the request accepts gzip
// and there is one, else with the identity one.
func (v *variants) serve(ctx *fasthttp.RequestCtx) {
	r := v.identity
	if v.gzip != nil && ctx.Request.Header.HasAcceptEncodingBytes(strGzip) {
		r = v.gzip
	}
	r.serve(ctx)
}

func (v *variants) String() string {
	s := fmt.Sprintf("identity %d bytes", len(v.identity.body))
	if v.gzip != nil {
		s += fmt.Sprintf(", gzip %d bytes", len(v.gzip.body))
	}
	return s
}

func (r *replay) serve(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	for _, kv := range r.header {
		h.SetCanonical(kv[0], kv[1])
	}
	ctx.SetStatusCode(r.status)
	ctx.Response.SetBodyRaw(r.body)
}
