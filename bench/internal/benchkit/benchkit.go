// Package benchkit holds the helpers the bench tools share: free ports,
// a description of the machine, building and starting `joist serve`, a
// fresh PostgreSQL schema, CPU profiles through JOIST_PPROF_ADDR and
// percentiles of latencies.
package benchkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SecretKey is the JOIST_SECRET_KEY the tools give joist on PostgreSQL.
const SecretKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// FreeAddr is a free TCP address on 127.0.0.1.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// LoadAvg is the 1, 5 and 15 minute load averages from /proc/loadavg.
func LoadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	la := strings.Fields(string(b))
	return strings.Join(la[:min(3, len(la))], " ")
}

// Machine says what the load runs on: CPUs, model, load average.
func Machine() string {
	model := "unknown"
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			_, model, _ = strings.Cut(l, ": ")
			break
		}
	}
	return fmt.Sprintf("%d CPUs %q, load average %s", runtime.NumCPU(), model, LoadAvg())
}

// Pct is the p-th percentile of l, which is sorted; 0 when l is empty.
func Pct(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)*p/100, len(l)-1)]
}

// PctMS is Pct in milliseconds.
func PctMS(l []time.Duration, p int) float64 {
	return float64(Pct(l, p)) / float64(time.Millisecond)
}

// BuildJoist returns bin when it is set, else builds ./cmd/joist (from the
// module root) into dir/joist and returns that path.
func BuildJoist(ctx context.Context, bin, dir string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	bin = filepath.Join(dir, "joist")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/joist").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/joist (run from the module root, or give -bin): %v\n%s", err, out)
	}
	return bin, nil
}

// PostgresSchema connects to url and makes a fresh schema named prefix_<unix
// nanoseconds> in it. cleanup drops the schema (unless keep) and closes the
// pool.
func PostgresSchema(ctx context.Context, url, prefix string, keep bool) (pool *pgxpool.Pool, schema string, cleanup func(), err error) {
	if url == "" {
		return nil, "", nil, errors.New("-url or JOIST_TEST_DATABASE_URL is required for -store postgres")
	}
	if pool, err = pgxpool.New(ctx, url); err != nil {
		return nil, "", nil, err
	}
	schema = fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		pool.Close()
		return nil, "", nil, err
	}
	return pool, schema, func() {
		if !keep {
			pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck
		}
		pool.Close()
	}, nil
}

// Joist is a running `joist serve`.
type Joist struct {
	Cmd  *exec.Cmd
	Base string        // http://127.0.0.1:port
	Done chan struct{} // closed when the process has exited
	Log  string        // the file with its output
}

// StartJoist starts bin serve with env added to this process's environment
// and JOIST_ADDR a free address, its output in logPath, and waits up to 60 s
// for /readyz to answer 200.
func StartJoist(ctx context.Context, bin string, env []string, logPath string) (*Joist, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(append(os.Environ(), env...), "JOIST_ADDR="+addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	j := &Joist{Cmd: cmd, Base: "http://" + addr, Done: make(chan struct{}), Log: logPath}
	go func() { _ = cmd.Wait(); logf.Close(); close(j.Done) }()
	for t0 := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(j.Base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return j, nil
			}
		}
		select {
		case <-j.Done:
			return nil, fmt.Errorf("joist exited at start; see %s", logPath)
		case <-ctx.Done():
			j.Stop()
			return nil, ctx.Err()
		default:
		}
		if time.Since(t0) > 60*time.Second {
			j.Stop()
			return nil, fmt.Errorf("joist not ready after 60s; see %s", logPath)
		}
	}
}

// Stop sends SIGTERM, then SIGKILL after 30 s, and waits for the exit.
func (j *Joist) Stop() {
	_ = j.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-j.Done:
	case <-time.After(30 * time.Second):
		_ = j.Cmd.Process.Kill()
		<-j.Done
	}
}

// Profile fetches a CPU profile of joist serve, whose JOIST_PPROF_ADDR is
// addr, for secs seconds into path, and says where it is.
func Profile(ctx context.Context, addr string, secs int, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	fmt.Printf("cpu profile of joist serve: %s\n", path)
	return f.Close()
}
