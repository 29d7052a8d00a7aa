package main

import (
	"os"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		drop    string // a line to leave out of the stream
		wantOut string
		wantErr string
	}{
		{
			name: "a reached module vulnerability fails", file: "testdata/stream.json",
			wantOut: "vulncheck: warning: GO-2026-0001 in the Go standard library v1.26.8, fixed in Go 1.26.9: Header smuggling in net/http\n" +
				"vulncheck: GO-2026-0002 in github.com/valyala/fasthttp@v1.78.0, fixed in v1.79.0: Panic on a crafted request in fasthttp\n",
			wantErr: "1 reachable vulnerabilities in required modules",
		},
		{
			name: "standard library and unreached ones only warn", file: "testdata/stream.json", drop: `"osv": "GO-2026-0002", "fixed_version"`,
			wantOut: "vulncheck: warning: GO-2026-0001 in the Go standard library v1.26.8, fixed in Go 1.26.9: Header smuggling in net/http\n" +
				"vulncheck: no reachable vulnerability in a required module (1 in the standard library, listed above)\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range strings.Split(string(b), "\n") {
				if tc.drop == "" || !strings.Contains(l, tc.drop) {
					lines = append(lines, l)
				}
			}
			r, err := readReport(strings.NewReader(strings.Join(lines, "\n")))
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			err = r.print(&out)
			if got := out.String(); got != tc.wantOut {
				t.Errorf("output:\n%s\nwant:\n%s", got, tc.wantOut)
			}
			if got := errString(err); !strings.Contains(got, tc.wantErr) || (tc.wantErr == "") != (err == nil) {
				t.Errorf("error = %q, want %q", got, tc.wantErr)
			}
		})
	}
}

func TestReportRejectsGarbage(t *testing.T) {
	if _, err := readReport(strings.NewReader(`{"finding": [`)); err == nil {
		t.Error("readReport accepted a broken stream")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
