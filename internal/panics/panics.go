package panics

import (
	"fmt"
	"runtime/debug"
)

// Error is a recovered panic.
type Error struct {
	Where string // what was running: "the CSV reader", "a COPY stream", ...
	Value any    // the value passed to panic
	Stack []byte // the stack of the goroutine that panicked
}

func (e *Error) Error() string {
	return fmt.Sprintf("internal error: panic in %s: %v (please report it with the log)", e.Where, e.Value)
}

// Unwrap returns the panic value when it is an error (a runtime error, say).
func (e *Error) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// Recover, deferred directly (defer panics.Recover(&err, "...")), turns a
// panic of the calling goroutine into an *Error stored in *err. Without a
// panic it does nothing.
func Recover(err *error, where string) {
	if p := recover(); p != nil {
		*err = &Error{Where: where, Value: p, Stack: debug.Stack()}
	}
}
