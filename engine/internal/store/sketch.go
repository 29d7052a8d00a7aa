package store

import "math/bits"

// sketchBytesPerCounter sizes a shard's frequency sketch: one counter per
// row for each this many bytes of the shard's budget, about a quarter of
// a typical cached page (body, gzip and brotli), so the sketch has room
// for several times the pages the shard holds. A 64 MiB cache has four
// rows of 65,536 one-byte counters (256 KiB).
const sketchBytesPerCounter = 1024

// sketch is a count-min sketch of request counts: four rows of
// saturating one-byte counters, a path's count being the least of its
// four. After ten adds per counter of a row, every counter is halved, so
// the counts follow what is asked for now.
type sketch struct {
	rows  [4][]uint8
	shift uint // 64 - log2(row width)
	adds  int
	reset int // adds before the counters are halved
}

func newSketch(counters int64) sketch {
	w := 64
	for int64(w) < counters && w < 1<<22 {
		w *= 2
	}
	k := sketch{shift: uint(64 - bits.TrailingZeros(uint(w))), reset: 10 * w}
	for i := range k.rows {
		k.rows[i] = make([]uint8, w)
	}
	return k
}

// sketchSeeds are odd multipliers that spread one hash over the rows.
var sketchSeeds = [4]uint64{0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9, 0x94d049bb133111eb, 0xd6e8feb86659fd93}

func (k *sketch) index(h uint64, row int) uint64 {
	return (h * sketchSeeds[row]) >> k.shift
}

// add counts one request for the path hashed to h.
func (k *sketch) add(h uint64) {
	for i := range k.rows {
		if c := &k.rows[i][k.index(h, i)]; *c < 255 {
			*c++
		}
	}
	if k.adds++; k.adds >= k.reset {
		k.halve()
	}
}

// estimate is the path's count: at least the requests added for it since
// the last halving, more when other paths share all four of its counters.
func (k *sketch) estimate(h uint64) uint8 {
	m := uint8(255)
	for i := range k.rows {
		m = min(m, k.rows[i][k.index(h, i)])
	}
	return m
}

func (k *sketch) halve() {
	for i := range k.rows {
		for j := range k.rows[i] {
			k.rows[i][j] >>= 1
		}
	}
	k.adds /= 2
}
