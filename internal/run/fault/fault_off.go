//go:build !faultinject

package fault

import "context"

// Enabled reports whether the hooks are compiled in (build tag faultinject).
const Enabled = false

// Pause does nothing: the binary was built without -tags faultinject.
func Pause(context.Context, string) {}

// Panic does nothing: the binary was built without -tags faultinject.
func Panic(string) {}
