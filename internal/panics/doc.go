// Package panics turns a panic on any goroutine that works for one input
// or step into an error of that input or step, so that one bad file or
// response never kills the process (and the inputs after it still run).
// Recover is deferred at the top of every such goroutine; the error it
// stores keeps the panic's value and the goroutine's stack for the log.
package panics
