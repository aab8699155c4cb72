// Package cli holds the cobra commands of novawh: flags and wiring only.
// Commands parse flags, build their dependencies (logger, pool, registry,
// progress reporter) and call the packages that do the work, which own
// their Config, its defaults and their policies. Settings are resolved in
// one place, config.Resolver (flag > environment > file > default): a
// command binds its flags and variables to a package's Config fields and
// calls Resolve. The commands are listed in cli.go (commands); there are
// no package-level hooks: what a command needs is built and passed in.
package cli
