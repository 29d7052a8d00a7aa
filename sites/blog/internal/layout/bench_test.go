package layout

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

// The stages of a post page, one benchmark each, on the sample
// hello-world post. They build for wasip1 too, so each stage can be timed
// in wasm against native (GOOS=wasip1 go test -exec with a wazero runner;
// see RATIONALE.md, "Why are the blog's Go pages written without
// html/template?").

func samplePost(b testing.TB) []byte {
	raw, err := os.ReadFile(filepath.Join("..", "..", "data.json"))
	if err != nil {
		b.Fatal(err)
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(raw, &data); err != nil {
		b.Fatal(err)
	}
	return data["post:hello-world"]
}

func BenchmarkDecode(b *testing.B) {
	v := samplePost(b)
	for b.Loop() {
		if _, err := post.Decode(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarkdown(b *testing.B) {
	p, _ := post.Decode(samplePost(b))
	for b.Loop() {
		if _, err := Markdown(p.Content); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderPost(b *testing.B) {
	p, _ := post.Decode(samplePost(b))
	body, _ := Markdown(p.Content)
	view := Post{Page: NewPage(p.Title, p.Excerpt, assets), Post: NewCard(p, assets), Body: body}
	for b.Loop() {
		if _, err := RenderPost(view); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPage(b *testing.B) {
	v := samplePost(b)
	for b.Loop() {
		p, _ := post.Decode(v)
		body, _ := Markdown(p.Content)
		if _, err := RenderPost(Post{Page: NewPage(p.Title, p.Excerpt, assets), Post: NewCard(p, assets), Body: body}); err != nil {
			b.Fatal(err)
		}
	}
}
