package email

import (
	"crypto/sha256"
	"encoding/json"
	"sync"

	"github.com/joist-dev/joist/internal/email/render"
)

// parseCache keeps parsed templates and layouts by the hash of their
// stored source, so that a send renders without parsing again. Being keyed
// by content, it needs no invalidation: a template or layout changed (or
// another tenant's of the same name) has another key, and the old entry
// is simply no longer asked for. Parsed templates are only executed,
// never changed, which html/template and text/template allow from many
// goroutines at once.
type parseCache struct {
	mu        sync.Mutex
	templates map[[sha256.Size]byte]*render.Template
	layouts   map[[sha256.Size]byte]*render.Layout
}

// parseCacheSize bounds each map; past it the map starts over (sources
// change rarely, so this is only a bound on memory).
const parseCacheSize = 1024

func (c *parseCache) template(t Template) (*render.Template, error) {
	src, err := json.Marshal(struct {
		D, L string
		V    any
	}{t.DefaultLocale, t.Layout, t.Variants}) // maps marshal in key order
	if err != nil {
		return parseStored(t)
	}
	k := sha256.Sum256(src)
	c.mu.Lock()
	p, ok := c.templates[k]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	if p, err = parseStored(t); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.templates == nil || len(c.templates) >= parseCacheSize {
		c.templates = map[[sha256.Size]byte]*render.Template{}
	}
	c.templates[k] = p
	c.mu.Unlock()
	return p, nil
}

func (c *parseCache) layout(l Layout) (*render.Layout, error) {
	k := sha256.Sum256([]byte(l.Name + "\x00" + l.HTML))
	c.mu.Lock()
	p, ok := c.layouts[k]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := render.ParseLayout(l.Name, l.HTML)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.layouts == nil || len(c.layouts) >= parseCacheSize {
		c.layouts = map[[sha256.Size]byte]*render.Layout{}
	}
	c.layouts[k] = p
	c.mu.Unlock()
	return p, nil
}
