package app_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/app"
)

// citesDesign matches a reference to a design document, which the
// repository does not have: what users read must stand on its own.
var citesDesign = regexp.MustCompile(`\bDESIGN\b|(?i)design[ -]doc`)

// TestDocsStandOnTheirOwn: the served OpenAPI document, the client's
// package doc, README and docs/ cite no document outside the repository,
// and the OpenAPI summary names every part of the API.
func TestDocsStandOnTheirOwn(t *testing.T) {
	doc, err := app.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if m := citesDesign.Find(doc); m != nil {
		t.Errorf("/openapi.json cites %q", m)
	}
	var d struct {
		Info struct{ Summary, Description string }
		Tags []struct{ Name string }
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	for _, tag := range d.Tags {
		if tag.Name != "operations" && (!strings.Contains(d.Info.Summary, tag.Name) || !strings.Contains(d.Info.Description, "**"+tag.Name+"**")) {
			t.Errorf("the OpenAPI summary or description does not name %s:\n%s", tag.Name, d.Info.Summary)
		}
	}

	root := filepath.Join("..", "..")
	files := []string{filepath.Join(root, "README.md")}
	for _, dir := range []string{"docs", "client"} {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() && (strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go")) {
				files = append(files, p)
			}
			return err
		})
	}
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := citesDesign.Find(b); m != nil {
			t.Errorf("%s cites %q", f, m)
		}
	}
}

// TestReadmeGetsANewcomerStarted: the README says how long the first run
// takes, how to change the port, how to get the joist binary its commands
// call, and uses no platform-only command to open a browser.
func TestReadmeGetsANewcomerStarted(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, want := range []string{"about a\nminute", "--addr 127.0.0.1:8081", "JOIST_ADDR=127.0.0.1:8081", "go build -o joist ./cmd/joist",
		"go install github.com/joist-dev/joist/cmd/joist@latest", "joist operator reset-password owner@joist.local"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?m)^\s*(open|xdg-open) http`).MatchString(readme) {
		t.Error("README opens the browser with a platform-only command")
	}
}
