package sdktest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/kilnhq/kiln/sdk/internal/sdktest"
)

// loadAll loads lang's target for every language whose toolchain exists.
func loadAll(f *testing.F, target string) map[sdktest.Lang]*sdktest.Module {
	mods := map[sdktest.Lang]*sdktest.Module{}
	for _, lang := range sdktest.Langs {
		_, err := cachedBuild(lang, target)
		if errors.Is(err, sdktest.ErrToolchain) && os.Getenv("CI") == "" {
			f.Logf("skipping %s: %v", lang, err)
			continue
		}
		mods[lang] = load(f, lang, target)
	}
	return mods
}

func validStrings(r abi.Request) bool {
	ok := utf8.ValidString(r.Route) && utf8.ValidString(r.Path)
	for _, p := range r.Params {
		ok = ok && utf8.ValidString(p.Name) && utf8.ValidString(p.Value)
	}
	return ok
}

// FuzzRequestDecode feeds arbitrary request bytes to every SDK's request
// decoder (through the conformance renderer): a malformed request must fail
// cleanly with "kiln: malformed request", never trap, and a well-formed one
// must never be called malformed.
func FuzzRequestDecode(f *testing.F) {
	for _, tc := range conformanceCases {
		f.Add(encode(tc.req))
	}
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 0, 1, 0, 0, 0})
	mods := loadAll(f, "conformance")
	f.Fuzz(func(t *testing.T, req []byte) {
		decoded, err := abi.DecodeRequest(req)
		for lang, m := range mods {
			res, callErr := m.Call(context.Background(), "kiln_render", req, conformanceData)
			if callErr != nil {
				t.Fatalf("%s: %v", lang, callErr)
			}
			malformed := res.RC != 0 && res.Failure == "kiln: malformed request"
			if err != nil && !malformed {
				t.Errorf("%s accepted a malformed request (%v): rc %d, failure %q", lang, err, res.RC, res.Failure)
			}
			if err == nil && validStrings(decoded) && malformed {
				t.Errorf("%s refused a well-formed request %+v", lang, decoded)
			}
		}
	})
}

// FuzzExampleJSON feeds arbitrary post documents to every example renderer
// (and so to each SDK's JSON reader). None may trap; a document that is not
// valid JSON must fail the render; and on valid UTF-8 all languages must
// answer exactly the same bytes.
func FuzzExampleJSON(f *testing.F) {
	for _, v := range exampleData.Values {
		f.Add(v)
	}
	f.Add(`{"title":"\ud800","body":"\u0000<"}`)
	f.Add(`{"title":"a","body":"b","x":[[[{"y":-0.5e+3}]]],"z":null}`)
	mods := loadAll(f, "example")
	f.Fuzz(func(t *testing.T, doc string) {
		data := sdktest.MapData{Values: map[string]string{"post:p": doc}}
		var first *sdktest.Result
		var firstLang sdktest.Lang
		for _, lang := range sdktest.Langs {
			m, ok := mods[lang]
			if !ok {
				continue
			}
			res, err := m.Call(context.Background(), "kiln_render", encode(post("p")), data)
			if err != nil {
				t.Fatalf("%s: %v", lang, err)
			}
			if !json.Valid([]byte(doc)) && res.RC == 0 {
				t.Errorf("%s rendered invalid JSON %q", lang, doc)
			}
			if !utf8.ValidString(doc) {
				continue
			}
			if first == nil {
				first, firstLang = res, lang
			} else if err := same(first, res); err != nil {
				t.Errorf("%s and %s differ on %q: %v", firstLang, lang, doc, err)
			}
		}
	})
}

func same(a, b *sdktest.Result) error {
	switch {
	case (a.RC == 0) != (b.RC == 0):
		return errors.New("one failed, one did not")
	case a.Failure != b.Failure:
		return errors.New("failure messages differ: " + a.Failure + " / " + b.Failure)
	case !bytes.Equal(a.Answer, b.Answer):
		return errors.New("answers differ")
	}
	return nil
}
