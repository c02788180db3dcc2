package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"
)

// pprofServer serves Go's runtime profiles on JOIST_PPROF_ADDR, a loopback
// address (the config refuses any other), on a listener apart from the
// API: it is off unless set, for profiling under load.
type pprofServer struct {
	addr string
	log  *slog.Logger

	mu  sync.Mutex
	srv *http.Server
}

// Start listens on the address and serves /debug/pprof/.
func (p *pprofServer) Start(context.Context) error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("JOIST_PPROF_ADDR: listen on %s: %w", p.addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	p.mu.Lock()
	p.srv = srv
	p.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("pprof server stopped", "err", err)
		}
	}()
	p.log.Info("serving Go profiles", "addr", ln.Addr().String())
	return nil
}

// Stop closes the listener and any profile in progress. It is idempotent.
func (p *pprofServer) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		_ = p.srv.Close()
		p.srv = nil
	}
}
