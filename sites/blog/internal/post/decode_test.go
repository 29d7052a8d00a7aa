package post

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// reflectDecode is Decode as it was, through json.Unmarshal and Post's
// UnmarshalJSON: the reference the hand-written decoder must match.
func reflectDecode(value []byte) (Post, error) {
	var p Post
	if err := json.Unmarshal(value, &p); err != nil {
		return Post{}, err
	}
	return p, nil
}

func samePost(a, b Post) bool {
	da, db := a.Date, b.Date
	a.Date, b.Date = da.UTC(), db.UTC()
	return a == b && da.Equal(db)
}

// checkSameDecode decodes b both ways and wants the same post, or an error
// from both.
func checkSameDecode(t *testing.T, b []byte) {
	t.Helper()
	want, wantErr := reflectDecode(b)
	for _, content := range []bool{true, false} {
		var got Post
		date, err := decodeJSON(b, &got, content)
		if err == nil {
			got.Date, err = ParseDate(date)
		}
		want := want
		if !content {
			want.Content = "" // a summary: the rest as decoded whole
		}
		switch {
		case (err != nil) != (wantErr != nil):
			t.Errorf("decode %q (content %v): err = %v, json.Unmarshal's = %v", b, content, err, wantErr)
		case err == nil && !samePost(got, want):
			t.Errorf("decode %q (content %v):\n got %+v\nwant %+v", b, content, got, want)
		}
	}
}

var decodeCases = []string{
	`{"slug":"a","title":"T","date":"2026-03-18","author":{"name":"M","picture":"p.svg"},"excerpt":"e","coverImage":"c","content":"# Hi"}`,
	`{"slug":"a","title":"T","date":"2026-03-18T09:00:00+02:00","author":"Mara Lind"}`,
	`{"SLUG":"a","Title":"T","DATE":"2026-03-18","coverimage":"c","ſlug":"b"}`,
	`{"slug":"a","title":"T","date":"2026-03-18","author":{"name":"A","picture":"x"},"author":{"name":"B"}}`,
	`{"slug":"a","title":"T","date":"2026-03-18","author":{"name":"A","picture":"x"},"author":"B"}`,
	`{"slug":"a","title":null,"date":"2026-03-18","author":null,"extra":[1,-2.5e+3,{"x":[true,false,null,{}]},[],"s"]}`,
	` { "slug" : "a\u00e9\ud83c\udf89\ud800x\"\\\/\b\f\n\r\t" , "title":"\u0074", "date":"2026-03-18" } `,
	"{\"slug\":\"a\xff\xfe\",\"title\":\"T\",\"date\":\"2026-03-18\"}",
	`{"\u0073lug":"a","title":"T","date":"2026-03-18"}`,
	`{"slug":"a","title":"T","date":"2026-03-18"} x`,
	`{"slug":"a","title":5,"date":"2026-03-18"}`,
	`{"slug":"a","title":"T","date":"2026-03-18","author":5}`,
	`{"slug":"a","title":"T","date":"2026-03-18","n":01}`,
	`{"slug":"a","title":"T","date":"2026-03-18","n":1.}`,
	`{"slug":"a","title":"T","date":"2026-03-18","n":-}`,
	`{"slug":"a","title":"T","date":"2026-03-18",}`,
	`{"slug":"a","title":"T","date":"2026-03-18","x":[1,]}`,
	"{\"slug\":\"a\tb\",\"title\":\"T\",\"date\":\"2026-03-18\"}",
	`{"slug":"a","title":"T","date":null}`,
	`{"slug":"a","title":"T","date":"yesterday"}`,
	`null`, `[]`, `"x"`, `{}`, ``, `{"slug":"a"`, `{"slug":"\u12"}`,
	`{"slug":"a","title":"T","date":"2026-03-18","content":"a\u00e9\ud83c\udf89\\n\"x\"\n\t"}`,
	`{"slug":"a","title":"T","date":"2026-03-18","content":null}`,
	`{"slug":"a","title":"T","date":"2026-03-18","content":5}`,
	`{"slug":"a","title":"T","date":"2026-03-18","content":["x"]}`,
	`{"slug":"a","title":"T","date":"2026-03-18","content":"\x"}`,
	`{"slug":"a","title":"T","date":"2026-03-18","content":"\u12G4"}`,
	"{\"slug\":\"a\",\"title\":\"T\",\"date\":\"2026-03-18\",\"content\":\"a\nb\"}",
	`{"slug":"a","title":"T","date":"2026-03-18","content":"unterminated`,
	`{"slug":"a","title":"T","date":"2026-03-18","x":{"k\u0041":"v\n","\q":1}}`,
}

func TestDecodeSameAsJSON(t *testing.T) {
	for _, c := range decodeCases {
		checkSameDecode(t, []byte(c))
	}
	for _, v := range sampleData(t) {
		checkSameDecode(t, v)
	}
}

// sampleData is the blog's data file, key to raw value.
func sampleData(t testing.TB) map[string]json.RawMessage {
	raw, err := os.ReadFile(filepath.Join("..", "..", "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	return data
}

func FuzzDecodeSameAsJSON(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkSameDecode)
}

// BenchmarkDecode decodes the sample data's posts whole (Decode, the post
// page) and without their Markdown (DecodeSummary, the home page's
// listing).
func BenchmarkDecode(b *testing.B) {
	var posts [][]byte
	for k, v := range sampleData(b) {
		if len(k) > len(Prefix) && k[:len(Prefix)] == Prefix {
			posts = append(posts, v)
		}
	}
	for _, c := range []struct {
		name   string
		decode func([]byte) (Post, error)
	}{{"whole", Decode}, {"summary", DecodeSummary}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := c.decode(posts[i%len(posts)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
