package render

import (
	"errors"
	"fmt"
)

// Defaults of the per-render budgets (Config).
const (
	DefaultMaxLog          = 1 << 20
	DefaultMaxDependencies = 10000
	DefaultMaxTags         = 128
)

// Fixed budgets: no site has a reason to change them.
const (
	// maxResponseCalls is how often one render may call kiln.response;
	// the SDKs call it once.
	maxResponseCalls = 8
	// maxDependencyBytes bounds the keys and prefixes of one page
	// together, as each may be 64 KiB long.
	maxDependencyBytes = 4 << 20
)

// ErrBudget is wrapped by the error of a render that passed one of its
// budgets (log bytes, response calls, dependencies, tags). Match it with
// errors.Is.
var ErrBudget = errors.New("render: over budget")

// budgetError names the budget a render passed and its limit.
type budgetError struct {
	name  string // the site.hcl attribute, or a description of a fixed budget
	limit int
	unit  string
}

func (e *budgetError) Error() string {
	return fmt.Sprintf("over budget: %s is %d %s per render", e.name, e.limit, e.unit)
}

func (e *budgetError) Is(target error) bool { return target == ErrBudget }

// logBudget counts the bytes one render logs, through stdout, stderr and
// kiln.log together. It belongs to an instance and is reset before each
// call.
type logBudget struct {
	limit, used int
}

// spend counts n more bytes, or panics with a budget error when they pass
// the limit: the panic traps the guest (wazero turns a panic in a host
// function, WASI's fd_write included, into a trap), so a flood stops at
// once instead of running until the timeout.
func (b *logBudget) spend(n int) {
	if b == nil {
		return
	}
	b.used += n
	if b.used > b.limit {
		panic(&budgetError{name: "max_log", limit: b.limit, unit: "bytes of log"})
	}
}

func (b *logBudget) reset(limit int) { b.limit, b.used = limit, 0 }

// depBudget bounds the dependencies one render records.
type depBudget struct {
	limit, n, bytes int
}

// admit counts one new dependency of len n bytes, or panics with a budget
// error.
func (b *depBudget) admit(n int) {
	b.n++
	b.bytes += n
	switch {
	case b.limit > 0 && b.n > b.limit:
		panic(&budgetError{name: "max_dependencies", limit: b.limit, unit: "keys and prefixes"})
	case b.bytes > maxDependencyBytes:
		panic(&budgetError{name: "the size of the dependencies", limit: maxDependencyBytes, unit: "bytes of keys and prefixes"})
	}
}

// spendResponse counts one kiln.response call.
func (st *callState) spendResponse() {
	st.responses++
	if st.responses > maxResponseCalls {
		panic(&budgetError{name: "the number of kiln.response calls", limit: maxResponseCalls, unit: "calls"})
	}
}

// checkTags fails a response with more tags than its budget allows.
func checkTags(resp *Response, limit int) error {
	if len(resp.Tags) > limit {
		return fmt.Errorf("%w: %d tags", &budgetError{name: "max_tags", limit: limit, unit: "tags"}, len(resp.Tags))
	}
	return nil
}
