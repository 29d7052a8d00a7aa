package server

import (
	"strconv"
	"sync"
	"time"
)

// Failed admin auth is rate-limited per client address, like fail2ban in
// front of sshd: past authFailures wrong secrets within authWindow, the
// address gets 429 with Retry-After until the window ends, the right
// secret included (a guesser cannot tell it found it). The table is
// bounded: when full it starts over, which only forgets counts.
const (
	authFailures = 10
	authWindow   = time.Minute
	authTable    = 10000
)

type authLimiter struct {
	mu    sync.Mutex
	fails map[string]authCount
}

type authCount struct {
	n     int
	start time.Time
}

// retryAfter is how long ip must wait, 0 if it may try.
func (l *authLimiter) retryAfter(ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.fails[ip]
	if !ok || now.Sub(c.start) >= authWindow {
		return 0
	}
	if c.n < authFailures {
		return 0
	}
	return authWindow - now.Sub(c.start)
}

// fail counts a wrong secret from ip.
func (l *authLimiter) fail(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil || len(l.fails) >= authTable {
		l.fails = map[string]authCount{}
	}
	c := l.fails[ip]
	if now.Sub(c.start) >= authWindow {
		c = authCount{start: now}
	}
	c.n++
	l.fails[ip] = c
}

// retrySeconds is d as a Retry-After value, rounded up.
func retrySeconds(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}
