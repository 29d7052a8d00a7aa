package kv

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Pebble key layout. Each kind of record lives under a one-byte tag:
//
//	'd' key        -> revision (8 bytes, big endian) + value   live item
//	't' key        -> revision                                 deleted item (tombstone)
//	'r' revision   -> op (1 byte) + key                        revision log, latest change per key
const (
	tagData = 'd'
	tagTomb = 't'
	tagLog  = 'r'

	opPut    = 0
	opDelete = 1
)

func dataKey(key string) []byte { return append([]byte{tagData}, key...) }
func tombKey(key string) []byte { return append([]byte{tagTomb}, key...) }

func logKey(rev uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{tagLog}, rev)
}

// prefixEnd returns the smallest key greater than every key starting with
// p, or nil when there is none (p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// lastRevision finds the newest revision: the last key of the log, which
// compaction never removes (only older entries of a key are dropped).
func lastRevision(db *pebble.DB) (uint64, error) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagLog}, UpperBound: []byte{tagLog + 1}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	return binary.BigEndian.Uint64(it.Key()[1:]), nil
}

func decodeRecord(v []byte) (rev uint64, value []byte, err error) {
	if len(v) < 8 {
		return 0, nil, errCorrupt
	}
	return binary.BigEndian.Uint64(v), v[8:], nil
}

func encodeRecord(rev uint64, value []byte) []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(value)), rev), value...)
}

var errCorrupt = errors.New("kv: corrupt record")

// A cursor is the last key of the previous page, so the next page starts
// strictly after (or, in reverse, before) it. "k" versions the format.
func encodeCursor(lastKey string) string {
	return "k" + base64.RawURLEncoding.EncodeToString([]byte(lastKey))
}

func decodeCursor(c string) (string, error) {
	if len(c) == 0 || c[0] != 'k' {
		return "", fmt.Errorf("kv: invalid cursor %q", c)
	}
	b, err := base64.RawURLEncoding.DecodeString(c[1:])
	if err != nil {
		return "", fmt.Errorf("kv: invalid cursor: %w", err)
	}
	return string(b), nil
}
