// Package version holds the build's version, set with -ldflags "-X berth/internal/version.Version=...".
package version

// Version is the release this binary was built from.
var Version = "0.1.0-dev"

// Commit is the source revision, when the build knew it.
var Commit = ""
