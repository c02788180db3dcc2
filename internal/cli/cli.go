// Package cli is joist's command line: serve, migrate, version, and the
// bootstrap commands an operator would otherwise do by hand with SQL.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"

	"github.com/joist-dev/joist/internal/app"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

const usage = `joist: backend plumbing for SaaS products, in one binary.

Usage:
  joist serve                         run the API, the admin dashboard and the workers
  joist migrate                       apply database migrations and exit
  joist version                       print the version
  joist tenant create SLUG [NAME]     create a tenant
  joist key create TENANT [NAME]      create an API key for a tenant (printed once)
  joist operator create EMAIL ROLE [--tenants a,b] [--name N]
                                      create an operator; the password is read from
                                      JOIST_NEW_PASSWORD or generated and printed
  joist operator reset-password EMAIL set a new password (from JOIST_NEW_PASSWORD, or
                                      generated and printed) and end their sessions
  joist domain check NAME [--dns HOST:PORT] [--selector S]... [--provider P]
                     [--spf-include HOST] [--json]
                                      check a sending domain's SPF, DKIM, DMARC and
                                      more, and say what to publish (no server needed)

Every command but domain check takes the settings flags (run 'joist serve -h' to list them),
JOIST_* environment variables, or --config joist.toml.
`

// Version is set at build time with -ldflags "-X github.com/joist-dev/joist/internal/cli.Version=v1.2.3".
var Version = ""

// Run runs one command and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, rest, stdout, stderr, env)
	case "migrate":
		err = migrate(ctx, rest, stdout, stderr, env)
	case "version", "--version":
		bi, _ := debug.ReadBuildInfo()
		fmt.Fprintln(stdout, versionLine(bi))
	case "tenant":
		err = tenantCmd(ctx, rest, stdout, stderr, env)
	case "key":
		err = keyCmd(ctx, rest, stdout, stderr, env)
	case "operator":
		err = operatorCmd(ctx, rest, stdout, stderr, env)
	case "domain":
		err = domainCmd(ctx, rest, stdout, stderr, env)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "joist: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintln(stderr, "joist:", ee.err)
			}
			return ee.code
		}
		fmt.Fprintln(stderr, "joist:", err)
		return 1
	}
	return 0
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// commit is the VCS revision Go embedded at build time (12 characters, with
// "+modified" for a build from uncommitted changes), or "".
func commit() string {
	bi, _ := debug.ReadBuildInfo()
	return commitOf(bi)
}

func commitOf(bi *debug.BuildInfo) string {
	if bi == nil {
		return ""
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return rev[:min(len(rev), 12)] + modified
}

// versionLine is what 'joist version' prints: the version, the module, the
// commit and time it was built from, and the Go release, from the build
// information Go embeds in the binary (bi may be nil).
func versionLine(bi *debug.BuildInfo) string {
	v := Version
	var parts []string
	if bi != nil {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		if bi.Main.Path != "" {
			parts = append(parts, "module "+bi.Main.Path)
		}
	}
	if c := commitOf(bi); c != "" {
		c = "commit " + c
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				c += " of " + s.Value
			}
		}
		parts = append(parts, c)
	} else {
		parts = append(parts, "commit unknown (built without VCS information)")
	}
	if bi != nil && bi.GoVersion != "" {
		parts = append(parts, bi.GoVersion)
	}
	if v == "" {
		v = "dev"
	}
	return "joist " + v + " (" + strings.Join(parts, ", ") + ")"
}

// loadConfig parses the settings flags of a command (and its own flags,
// registered by extra) and returns the config and positional arguments.
func loadConfig(name string, args []string, stderr io.Writer, env func(string) string, extra func(*flag.FlagSet)) (config.Config, []string, error) {
	fs := flag.NewFlagSet("joist "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	apply := config.Flags(fs)
	if extra != nil {
		extra(fs)
	}
	// Allow flags after positional arguments.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return config.Config{}, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	cfg, err := apply(env)
	return cfg, pos, err
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) error {
	cfg, pos, err := loadConfig("serve", args, stderr, env, nil)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", pos)
	}
	// The port is taken before anything is created: a first start that
	// cannot listen (8080 is often in use) must not create credentials it
	// will never show.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("JOIST_ADDR: cannot listen on %s: %w\n"+
			"  nothing was created; choose another address with --addr 127.0.0.1:8081 or JOIST_ADDR=127.0.0.1:8081", cfg.Addr, err)
	}
	log := newLogger(cfg, stderr)
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	if err := a.Start(ctx, ln); err != nil {
		a.Stop()
		// The credentials exist now: show them even though joist did not start.
		printCredentials(stdout, a, "joist did not start (see below), but these credentials were created.\n  They are shown ONCE and stored only hashed:")
		return err
	}
	if !printCredentials(stdout, a, "joist is ready. These credentials are shown ONCE and stored only hashed:") {
		printRecovery(ctx, stdout, a)
	}
	log.Info("joist started", "addr", a.Addr(), "store", a.DB.Dialect(), "admin", cfg.BaseURL()+"/admin/", "version", version(), "commit", commit())
	<-ctx.Done()
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	a.Stop()
	return nil
}

// printCredentials prints the credentials generated on this start, under
// title, and says whether there were any.
func printCredentials(w io.Writer, a *app.App, title string) bool {
	b := a.Bootstrap
	if b.RootKey == "" && b.OwnerEmail == "" {
		return false
	}
	var sb strings.Builder
	sb.WriteString("\n  " + title + "\n\n")
	if b.RootKey != "" {
		fmt.Fprintf(&sb, "    root API key:    %s\n", b.RootKey)
	}
	if b.OwnerEmail != "" {
		fmt.Fprintf(&sb, "    admin login:     %s/admin/login\n", a.Config.BaseURL())
		fmt.Fprintf(&sb, "    owner email:     %s\n", b.OwnerEmail)
		if b.OwnerPassword != "" {
			fmt.Fprintf(&sb, "    owner password:  %s\n", b.OwnerPassword)
		} else {
			sb.WriteString("    owner password:  (the one you set in JOIST_OWNER_PASSWORD)\n")
		}
	}
	sb.WriteString("\n  Lost them? 'joist operator reset-password EMAIL' sets a new password")
	if a.Config.RootKey == "" {
		sb.WriteString(";\n  set JOIST_ROOT_KEY to use a root key of your own")
	}
	sb.WriteString(".\n\n")
	fmt.Fprint(w, sb.String())
	return true
}

// printRecovery tells, on a start with no credentials to show, where to log
// in and how to get back in without the credentials of the first start.
func printRecovery(ctx context.Context, w io.Writer, a *app.App) {
	var owners []string
	if ops, err := a.Core.OperatorList(ctx, cliActor); err == nil {
		for _, o := range ops {
			if o.Role == string(auth.RoleOwner) && o.DisabledAt == nil {
				owners = append(owners, o.Email)
			}
		}
	}
	email := "EMAIL"
	if len(owners) > 0 {
		email = owners[0]
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n  joist is ready. Admin: %s/admin/login", a.Config.BaseURL())
	if len(owners) > 0 {
		fmt.Fprintf(&sb, " (owner: %s)", strings.Join(owners, ", "))
	}
	sb.WriteString("\n  Credentials are shown only on the first start. Lost them? Run these next to this server (same settings):\n")
	fmt.Fprintf(&sb, "    joist operator reset-password %s   new owner password, printed once\n", email)
	sb.WriteString("    joist key create TENANT                  a new API key for a tenant, printed once\n")
	if a.Config.RootKey == "" {
		sb.WriteString("  or start joist with JOIST_ROOT_KEY set to a secret of 32+ characters to use a root key of your own.\n")
	}
	sb.WriteString("\n")
	fmt.Fprint(w, sb.String())
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) error {
	cfg, _, err := loadConfig("migrate", args, stderr, env, nil)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, store.Options{URL: cfg.DatabaseURL, Schema: cfg.DatabaseSchema, DataDir: cfg.DataDir})
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.Migrate(ctx, app.Migrations()...)
	if err != nil {
		return err
	}
	if err := jobs.MigrateRiver(ctx, db); err != nil {
		return fmt.Errorf("migrate job engine: %w", err)
	}
	if res.Upgraded {
		fmt.Fprintf(stdout, "moved the migration ledger to joist_schema (binaries older than this one now refuse this database)\n")
	}
	if len(res.Applied) == 0 {
		fmt.Fprintf(stdout, "database is up to date (%d migrations, %s)\n", res.Known, db.Dialect())
	} else {
		fmt.Fprintf(stdout, "applied %s; database up to date (%d migrations, %s)\n", strings.Join(res.Applied, ", "), res.Known, db.Dialect())
	}
	return nil
}

// withCore opens the store (migrating it) for a bootstrap command.
func withCore(ctx context.Context, cfg config.Config, f func(*core.Service) error) error {
	db, err := store.Open(ctx, store.Options{URL: cfg.DatabaseURL, Schema: cfg.DatabaseSchema, DataDir: cfg.DataDir})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, app.Migrations()...); err != nil {
		return err
	}
	return f(core.New(db, nowFunc, slog.New(slog.DiscardHandler), core.Options{}))
}

var cliActor = auth.Actor{Type: auth.ActorCLI, ID: "cli", AllTenants: true, Role: auth.RoleOwner}

func hostActor() auth.Actor {
	a := cliActor
	if h, err := os.Hostname(); err == nil {
		a.IP = "cli@" + h
	}
	return a
}
