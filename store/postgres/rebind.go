package postgres

import (
	"strconv"
	"strings"
	"sync"
)

// store/sqlstore's queries are written in SQLite's placeholders, ? (the
// next argument) and ?N (argument N); rebind turns them into PostgreSQL's
// $N. No query has a ? inside a string literal or uses PostgreSQL's ?
// operators.
var rebound sync.Map // query -> rebound query

func rebind(query string) string {
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	var (
		b    strings.Builder
		next = 1
	)
	b.Grow(len(query) + 8)
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c != '?' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(query) && query[j] >= '0' && query[j] <= '9' {
			j++
		}
		b.WriteByte('$')
		if j > i+1 {
			b.WriteString(query[i+1 : j])
			i = j - 1
		} else {
			b.WriteString(strconv.Itoa(next))
			next++
		}
	}
	q := b.String()
	// Queries built from filters (ListECSTasks, the logs listings) come
	// in a bounded number of shapes, so the cache stays small.
	rebound.Store(query, q)
	return q
}
