// Command misbehave is a Go renderer that misbehaves on request, one way
// per path, so the tests can prove the engine survives each.
package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	kiln "github.com/kilnhq/kiln/sdk/go"
)

// hoard keeps memory alive between renders.
var hoard [][]byte

func init() { kiln.Handle(render) }

func main() {}

func render(req *kiln.Request) (*kiln.Response, error) {
	switch req.Path {
	case "/ok":
		return kiln.HTML([]byte("ok")), nil
	case "/panic":
		panic("boom")
	case "/nilmap":
		var m map[string]int
		m["x"] = 1
	case "/exit":
		os.Exit(3)
	case "/loop":
		for {
		}
	case "/bomb":
		for {
			hoard = append(hoard, make([]byte, 16<<20))
		}
	case "/hoard":
		hoard = append(hoard, make([]byte, 40<<20))
		return kiln.HTML([]byte("hoarded")), nil
	case "/big":
		return kiln.HTML(bytes.Repeat([]byte("x"), 17<<20)), nil
	case "/crlf":
		r := kiln.HTML(nil)
		r.Headers = []kiln.Header{{Name: "X-Evil", Value: "a\r\nSet-Cookie: x=y"}}
		return r, nil
	case "/badutf8":
		r := kiln.HTML(nil)
		r.Headers = []kiln.Header{{Name: "X-Bad", Value: "\xff\xfe"}}
		return r, nil
	case "/ignore-unavailable":
		kiln.Get("any")
		return kiln.HTML([]byte("pretending all is well")), nil
	case "/stdout":
		fmt.Println("line one")
		fmt.Fprint(os.Stderr, "line two\nline three")
		return kiln.HTML([]byte("printed")), nil
	case "/logflood": // 131 MB of log in 0.4 s, before budgets
		line := strings.Repeat("x", 1000)
		for {
			fmt.Println(line)
		}
	case "/kilnlog":
		line := strings.Repeat("y", 1000)
		for {
			kiln.Log(kiln.LevelInfo, line)
		}
	case "/deps": // a million dependencies
		for i := range 1_000_000 {
			kiln.Get("key/" + strconv.Itoa(i))
		}
		return kiln.HTML([]byte("read")), nil
	case "/tags":
		r := kiln.HTML([]byte("tagged"))
		for i := range 1000 {
			r.Tags = append(r.Tags, "tag"+strconv.Itoa(i))
		}
		return r, nil
	case "/spin":
		return kiln.HTML([]byte(fmt.Sprint(spin(1_000_000)))), nil
	case "/env":
		_, err := os.ReadFile("/etc/passwd")
		return kiln.HTML([]byte(fmt.Sprintf("env=%d args=%d file=%v greeting=%s", len(os.Environ()), len(os.Args), err != nil, os.Getenv("GREETING")))), nil
	}
	return kiln.NotFound(), nil
}

// spin is a tight loop of n iterations, to measure per-loop costs.
func spin(n int) uint64 {
	x := uint64(88172645463325252)
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}
