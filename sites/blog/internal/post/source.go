package post

import (
	"fmt"
)

// Item is one key/value pair of a listing.
type Item struct {
	Key   string
	Value []byte
}

// Source is the data the blog reads: renderers pass Kiln (the SDK's data
// calls), tests may pass anything else.
type Source interface {
	Get(key string) (value []byte, found bool, err error)
	// List returns up to limit items under prefix in key order (or
	// reverse), starting after cursor; next is "" at the end.
	List(prefix, cursor string, limit int, reverse bool) (items []Item, next string, err error)
}

// Load reads the post with this slug. found is false when it does not
// exist (or the slug could never exist).
func Load(src Source, slug string) (p Post, found bool, err error) {
	if ValidSlug(slug) != nil {
		return Post{}, false, nil
	}
	v, found, err := src.Get(Key(slug))
	if err != nil || !found {
		return Post{}, false, err
	}
	p, err = Decode(v)
	if err != nil {
		return Post{}, false, fmt.Errorf("read %s: %w", Key(slug), err)
	}
	return p, true, nil
}

// Newest returns up to n posts, newest first, reading the date index page
// by page. It reads about n index entries and n posts, however many posts
// exist. Index entries whose post is gone, or whose post now has another
// date (the index entry is stale), are skipped.
func Newest(src Source, n int) ([]Post, error) {
	var out []Post
	cursor := ""
	for len(out) < n {
		// A few spare entries absorb stale ones without another round trip.
		items, next, err := src.List(IndexPrefix, cursor, n-len(out)+4, true)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", IndexPrefix, err)
		}
		for _, it := range items {
			if len(out) == n {
				break
			}
			p, ok, err := fromIndex(src, it)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, p)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

// NewestSlugs returns the slugs of the n newest posts, from the index
// alone (for the paths export: the build does not need the posts).
func NewestSlugs(src Source, n int) ([]string, error) {
	items, _, err := src.List(IndexPrefix, "", n, true)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", IndexPrefix, err)
	}
	slugs := make([]string, 0, len(items))
	for _, it := range items {
		if _, slug, ok := ParseIndexKey(it.Key); ok {
			slugs = append(slugs, slug)
		}
	}
	return slugs, nil
}

// fromIndex loads the post an index entry points at, if it still matches.
func fromIndex(src Source, it Item) (Post, bool, error) {
	date, slug, ok := ParseIndexKey(it.Key)
	if !ok || slugFromValue(it.Value) != slug {
		return Post{}, false, nil
	}
	p, found, err := Load(src, slug)
	if err != nil || !found || !p.Date.Equal(date) {
		return Post{}, false, err
	}
	return p, true, nil
}
