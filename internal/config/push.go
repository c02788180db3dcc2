package config

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/joist-dev/joist/internal/notify/push"
)

// validatePush checks the push settings: the VAPID subject, the base
// URLs, and APNs' settings all or none.
func (c *Config) validatePush() []error {
	var errs []error
	if c.VAPIDSubject != "" {
		if err := push.ValidateSubject(c.VAPIDSubject); err != nil {
			errs = append(errs, fmt.Errorf("JOIST_VAPID_SUBJECT: %w", err))
		}
	}
	for name, base := range map[string]string{"JOIST_FCM_API_BASE": c.FCMAPIBase, "JOIST_FCM_TOKEN_URL": c.FCMTokenURL, "JOIST_APNS_API_BASE": c.APNsAPIBase} {
		if base == "" {
			continue
		}
		if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q must be an absolute http:// or https:// URL", name, base))
		}
	}
	if c.APNsAPIBase != "" {
		if u, err := url.Parse(c.APNsAPIBase); err == nil && u.Scheme != "https" {
			errs = append(errs, errors.New("JOIST_APNS_API_BASE: APNs speaks HTTP/2 over TLS only: use an https:// URL"))
		}
	}
	apns := map[string]string{"JOIST_APNS_KEY": c.APNsKey, "JOIST_APNS_KEY_ID": c.APNsKeyID, "JOIST_APNS_TEAM_ID": c.APNsTeamID, "JOIST_APNS_TOPIC": c.APNsTopic}
	set := 0
	for _, v := range apns {
		if v != "" {
			set++
		}
	}
	if set > 0 && set < len(apns) {
		errs = append(errs, errors.New("JOIST_APNS_KEY, JOIST_APNS_KEY_ID, JOIST_APNS_TEAM_ID and JOIST_APNS_TOPIC: set all four or none"))
	}
	if c.APNsKeyID != "" && len(c.APNsKeyID) != 10 {
		errs = append(errs, fmt.Errorf("JOIST_APNS_KEY_ID: %q must be the key's 10-character id", c.APNsKeyID))
	}
	if c.APNsTeamID != "" && len(c.APNsTeamID) != 10 {
		errs = append(errs, fmt.Errorf("JOIST_APNS_TEAM_ID: %q must be the team's 10-character id", c.APNsTeamID))
	}
	return errs
}
