package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersionLine(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/joist-dev/joist", Version: "v0.0.0-20260101120000-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-01-01T12:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	want := "joist v0.0.0-20260101120000-0123456789ab+dirty (module github.com/joist-dev/joist, commit 0123456789ab+modified of 2026-01-01T12:00:00Z, go1.26.0)"
	if got := versionLine(bi); got != want {
		t.Fatalf("versionLine:\n got %s\nwant %s", got, want)
	}
	bi = &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/joist-dev/joist", Version: "(devel)"}}
	want = "joist dev (module github.com/joist-dev/joist, commit unknown (built without VCS information), go1.26.0)"
	if got := versionLine(bi); got != want {
		t.Fatalf("versionLine without VCS:\n got %s\nwant %s", got, want)
	}
}
