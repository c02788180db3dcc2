package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/operators"
	"github.com/joist-dev/joist/internal/tenants"
)

func nowFunc() time.Time { return time.Now() }

// tenantsOf is the tenants service over the core service's store.
func tenantsOf(s *core.Service) *tenants.Service {
	return tenants.New(core.Deps{DB: s.DB(), Now: s.Now}, s)
}

// operatorsOf is the operators service over the core service's store.
func operatorsOf(s *core.Service) *operators.Service {
	return operators.New(core.Deps{DB: s.DB(), Now: s.Now}, s, operators.Options{})
}

func tenantCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: joist tenant create SLUG [NAME]")
	}
	cfg, pos, err := loadConfig("tenant create", args[1:], stderr, env, nil)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return fmt.Errorf("usage: joist tenant create SLUG [NAME]")
	}
	name := ""
	if len(pos) == 2 {
		name = pos[1]
	}
	return withCore(ctx, cfg, func(s *core.Service) error {
		t, err := tenantsOf(s).Create(ctx, hostActor(), tenants.Input{Slug: pos[0], Name: name})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created tenant %s (slug %s)\n", t.ID, t.Slug)
		return nil
	})
}

func keyCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: joist key create TENANT [NAME]")
	}
	cfg, pos, err := loadConfig("key create", args[1:], stderr, env, nil)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return fmt.Errorf("usage: joist key create TENANT [NAME]")
	}
	name := "created by joist key create"
	if len(pos) == 2 {
		name = pos[1]
	}
	return withCore(ctx, cfg, func(s *core.Service) error {
		a := hostActor()
		t, err := s.TenantGet(ctx, a, pos[0])
		if err != nil {
			return err
		}
		k, plain, err := tenantsOf(s).KeyCreate(ctx, a, t.ID, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created key %s for tenant %s; it is shown only now:\n%s\n", k.ID, t.Slug, plain)
		return nil
	})
}

func operatorCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: joist operator create EMAIL ROLE | joist operator reset-password EMAIL")
	}
	switch args[0] {
	case "create":
		var tenants, name string
		cfg, pos, err := loadConfig("operator create", args[1:], stderr, env, func(fs *flag.FlagSet) {
			fs.StringVar(&tenants, "tenants", "", "comma-separated tenant slugs or ids the operator reaches (default: all)")
			fs.StringVar(&name, "name", "", "display name")
		})
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return fmt.Errorf("usage: joist operator create EMAIL ROLE [--tenants a,b] [--name N]")
		}
		pw, generated := newPassword(env)
		return withCore(ctx, cfg, func(s *core.Service) error {
			a := hostActor()
			in := operators.Input{Email: pos[0], Name: name, Role: pos[1], AllTenants: tenants == ""}
			for _, ref := range strings.Split(tenants, ",") {
				if ref = strings.TrimSpace(ref); ref != "" {
					t, err := s.TenantGet(ctx, a, ref)
					if err != nil {
						return err
					}
					in.TenantIDs = append(in.TenantIDs, t.ID)
				}
			}
			o, err := operatorsOf(s).Create(ctx, a, in, pw)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created operator %s (%s, role %s)\n", o.ID, o.Email, o.Role)
			if generated {
				fmt.Fprintf(stdout, "password (shown only now): %s\n", pw)
			}
			return nil
		})
	case "reset-password":
		cfg, pos, err := loadConfig("operator reset-password", args[1:], stderr, env, nil)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return fmt.Errorf("usage: joist operator reset-password EMAIL")
		}
		pw, generated := newPassword(env)
		return withCore(ctx, cfg, func(s *core.Service) error {
			o, err := operatorsOf(s).ResetPassword(ctx, hostActor(), pos[0], pw)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "password of %s reset; their sessions were ended\n", o.Email)
			if generated {
				fmt.Fprintf(stdout, "new password (shown only now): %s\n", pw)
			}
			return nil
		})
	}
	return fmt.Errorf("unknown operator command %q: use create or reset-password", args[0])
}

func newPassword(env func(string) string) (string, bool) {
	if pw := env("JOIST_NEW_PASSWORD"); pw != "" {
		return pw, false
	}
	return auth.RandomToken(12), true
}
