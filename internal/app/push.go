package app

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/notify"
	"github.com/joist-dev/joist/internal/notify/push"
	"github.com/joist-dev/joist/internal/secretbox"
)

// contentOrFile is a setting that holds either its value (when it starts
// like one: looks(v)) or the path of a file holding it.
func contentOrFile(name, v string, looks func(string) bool) ([]byte, error) {
	if looks(v) {
		return []byte(v), nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, fmt.Errorf("%s: neither the content nor a readable file: %w", name, err)
	}
	return b, nil
}

// pushOptions builds the push channel's senders from the configuration:
// web push through the guarded client of customer destinations, FCM and
// APNs through that of operator destinations, each trusting the system's
// CAs plus JOIST_PUSH_CA.
func pushOptions(cfg config.Config, guard *egress.Guard, box *secretbox.Box, c *core.Service) (notify.PushOptions, error) {
	var extra []byte
	if cfg.PushCA != "" {
		var err error
		if extra, err = os.ReadFile(cfg.PushCA); err != nil {
			return notify.PushOptions{}, fmt.Errorf("JOIST_PUSH_CA: %w", err)
		}
	}
	roots, err := notify.PushRoots(extra)
	if err != nil {
		return notify.PushOptions{}, err
	}
	rootHash := ""
	if cfg.RootKey != "" {
		rootHash = auth.HashToken(cfg.RootKey)
	}
	o := notify.PushOptions{
		Box:            box,
		DefaultSubject: notify.DefaultVAPIDSubject(cfg.VAPIDSubject, cfg.PublicURL),
		WebClient:      notify.PushClient(guard, egress.Customer, roots),
		Authenticate: func(ctx context.Context, bearer string) (auth.Actor, error) {
			return c.Authenticate(ctx, bearer, rootHash)
		},
	}
	if cfg.FCMCredentials != "" {
		creds, err := contentOrFile("JOIST_FCM_CREDENTIALS", cfg.FCMCredentials, func(v string) bool { return strings.HasPrefix(strings.TrimSpace(v), "{") })
		if err != nil {
			return o, err
		}
		o.FCM, err = push.NewFCM(push.FCMConfig{Credentials: creds, APIBase: cfg.FCMAPIBase, TokenURL: cfg.FCMTokenURL,
			Client: notify.PushClient(guard, egress.Operator, roots)})
		if err != nil {
			return o, fmt.Errorf("JOIST_FCM_CREDENTIALS: %w", err)
		}
	}
	if cfg.APNsKey != "" {
		key, err := contentOrFile("JOIST_APNS_KEY", cfg.APNsKey, func(v string) bool { return strings.Contains(v, "-----BEGIN") })
		if err != nil {
			return o, err
		}
		o.APNs, err = push.NewAPNs(push.APNsConfig{Key: key, KeyID: cfg.APNsKeyID, TeamID: cfg.APNsTeamID, Topic: cfg.APNsTopic,
			APIBase: cfg.APNsAPIBase, Dial: guard.DialContext(egress.Operator), RootCAs: roots})
		if err != nil {
			return o, fmt.Errorf("JOIST_APNS_KEY: %w", err)
		}
	}
	return o, nil
}
