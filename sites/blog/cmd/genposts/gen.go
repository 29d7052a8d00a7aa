package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

var (
	adjectives = strings.Fields("quiet fast static stale fresh incremental lazy eager small durable careful simple hidden patient bright")
	nouns      = strings.Fields("pages routes caches builds renderers events plugins previews paths indexes stores modules headers fallbacks")
	verbs      = strings.Fields("regenerate revalidate render serve store index prerender stream compile measure")
	lorem      = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua venenatis urna cursus eget nunc scelerisque viverra mauris tellus metus vulputate felis imperdiet proin fermentum diam pharetra aliquam maecenas tristique senectus netus malesuada fames turpis egestas")
	authors    = []post.Author{{Name: "Mara Lind", Picture: "authors/mara.svg"}, {Name: "Theo Park", Picture: "authors/theo.svg"}}
	covers     = []string{"covers/hello-world.svg", "covers/preview.svg", "covers/dynamic-routing.svg", "covers/background-regeneration.svg", "covers/on-demand-revalidation.svg"}
)

// generator makes synthetic posts: post i is an hour older than post i-1.
type generator struct {
	seed   uint64
	newest time.Time
}

func newGenerator(seed uint64, newest time.Time) *generator {
	return &generator{seed: seed, newest: newest.UTC()}
}

// post returns post i. Each post has its own random stream, so post i is
// the same whatever -n is.
func (g *generator) post(i int) post.Post {
	r := rand.New(rand.NewPCG(g.seed, uint64(i)))
	title := fmt.Sprintf("How %s %s %s", capitalize(pick(r, adjectives)), pick(r, nouns), pick(r, verbs))
	return post.Post{
		Slug:       fmt.Sprintf("generated-%06d", i),
		Title:      title,
		Date:       g.newest.Add(-time.Duration(i) * time.Hour),
		Author:     authors[i%len(authors)],
		Excerpt:    sentence(r, 18),
		CoverImage: covers[i%len(covers)],
		Content:    content(r),
	}
}

func content(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString(paragraph(r) + "\n\n## " + capitalize(words(r, 3)) + "\n\n" + paragraph(r) + "\n\n")
	for range 3 {
		b.WriteString("- " + sentence(r, 6) + "\n")
	}
	b.WriteString("\n" + paragraph(r) + "\n")
	return b.String()
}

func paragraph(r *rand.Rand) string {
	s := make([]string, 4+r.IntN(3))
	for i := range s {
		s[i] = sentence(r, 8+r.IntN(10))
	}
	return strings.Join(s, " ")
}

func sentence(r *rand.Rand, n int) string { return capitalize(words(r, n)) + "." }

func words(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = pick(r, lorem)
	}
	return strings.Join(w, " ")
}

func pick(r *rand.Rand, from []string) string { return from[r.IntN(len(from))] }

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// readDataFile reads the posts ("post:*" keys) of a JSON data file,
// newest first.
func readDataFile(name string) ([]post.Post, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(b, &data); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var out []post.Post
	for k, v := range data {
		if !strings.HasPrefix(k, post.Prefix) {
			continue
		}
		p, err := post.Decode(v)
		if err != nil {
			return nil, fmt.Errorf("read %s: %s: %w", name, k, err)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b post.Post) int {
		if c := b.Date.Compare(a.Date); c != 0 {
			return c
		}
		return strings.Compare(a.Slug, b.Slug)
	})
	return out, nil
}
