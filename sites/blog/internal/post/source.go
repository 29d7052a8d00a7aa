package post

import (
	"fmt"
	"slices"
	"strings"
	"time"
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
	// GetMany reads keys in one round trip: values[i] and found[i]
	// answer keys[i].
	GetMany(keys []string) (values [][]byte, found []bool, err error)
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

// Newest returns up to n posts, newest first, without their Content (see
// DecodeSummary), reading the date index page by page. It reads about n index entries and n posts, however many posts
// exist. Index entries whose post is gone, or whose post now has another
// date (the index entry is stale), are skipped.
//
// A source without an index (the markdown plugin serves only "post:"
// keys) gets a scan of the newest of the first ScanLimit posts instead.
func Newest(src Source, n int) ([]Post, error) {
	if n <= 0 {
		return nil, nil
	}
	out, indexed, err := newestIndexed(src, n)
	if err != nil || indexed {
		return out, err
	}
	return scanNewest(src, n)
}

// ScanLimit bounds the scan for sources without a date index.
const ScanLimit = 1000

func newestIndexed(src Source, n int) (out []Post, indexed bool, err error) {
	cursor, more := "", true
	var listed []Item // index entries listed and not read yet
	for len(out) < n {
		if len(listed) == 0 {
			if !more {
				break
			}
			// A few spare entries absorb stale ones without another listing.
			items, next, err := src.List(IndexPrefix, cursor, n-len(out)+4, true)
			if err != nil {
				return nil, false, fmt.Errorf("list %s: %w", IndexPrefix, err)
			}
			indexed = indexed || len(items) > 0
			listed, cursor, more = items, next, next != ""
		}
		// Read only as many posts as are still missing, all in one call.
		batch := listed[:min(len(listed), n-len(out))]
		listed = listed[len(batch):]
		posts, err := fromIndex(src, batch)
		if err != nil {
			return nil, false, err
		}
		out = append(out, posts...)
	}
	return out, indexed, nil
}

// scanNewest reads up to ScanLimit posts and keeps the n newest.
func scanNewest(src Source, n int) ([]Post, error) {
	items, _, err := src.List(Prefix, "", ScanLimit, false)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", Prefix, err)
	}
	var out []Post
	for _, it := range items {
		p, err := DecodeSummary(it.Value)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", it.Key, err)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, newestFirst)
	return out[:min(n, len(out))], nil
}

// newestFirst orders posts by date, newest first, then by slug.
func newestFirst(a, b Post) int {
	if c := b.Date.Compare(a.Date); c != 0 {
		return c
	}
	return strings.Compare(a.Slug, b.Slug)
}

// NewestSlugs returns the slugs of the n newest posts (for the paths
// export).
func NewestSlugs(src Source, n int) ([]string, error) {
	posts, err := Newest(src, n)
	slugs := make([]string, len(posts))
	for i, p := range posts {
		slugs[i] = p.Slug
	}
	return slugs, err
}

// AllSlugs returns the slug of every post, newest first, for a paths
// export that prerenders the whole blog. It reads the date index only
// (keys and the short values), never the posts, so it costs one listing
// per 1,000 posts. A source without an index gets its "post:" keys.
func AllSlugs(src Source) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, prefix := range []string{IndexPrefix, Prefix} {
		cursor := ""
		for {
			items, next, err := src.List(prefix, cursor, 1000, true)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", prefix, err)
			}
			for _, it := range items {
				slug := strings.TrimPrefix(it.Key, Prefix)
				if prefix == IndexPrefix {
					_, slug, _ = ParseIndexKey(it.Key)
				}
				if ValidSlug(slug) == nil && !seen[slug] {
					seen[slug] = true
					out = append(out, slug)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(out) > 0 {
			break
		}
	}
	return out, nil
}

// fromIndex loads, in one GetMany, the posts index entries point at, and
// keeps those that still match their entry: entries whose post is gone, or
// now has another date, are stale and skipped.
func fromIndex(src Source, items []Item) ([]Post, error) {
	var keys []string
	var dates []time.Time
	for _, it := range items {
		date, slug, ok := ParseIndexKey(it.Key)
		if ok && slugFromValue(it.Value) == slug {
			keys, dates = append(keys, Key(slug)), append(dates, date)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	values, found, err := src.GetMany(keys)
	if err != nil {
		return nil, fmt.Errorf("read %d posts: %w", len(keys), err)
	}
	var out []Post
	for i, v := range values {
		if !found[i] {
			continue
		}
		p, err := DecodeSummary(v)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", keys[i], err)
		}
		if p.Date.Equal(dates[i]) {
			out = append(out, p)
		}
	}
	return out, nil
}
