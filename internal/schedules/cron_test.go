package schedules

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris on machines without a zoneinfo database

	"github.com/joist-dev/joist/internal/core"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseSpecRejects(t *testing.T) {
	cases := []struct{ cron, tz, code, detail string }{
		{"", "", "invalid_cron", "required"},
		{"61 * * * *", "", "invalid_cron", "61"},
		{"not a cron", "", "invalid_cron", "five fields"},
		{"* * * *", "", "invalid_cron", "five fields"},
		{"* * * * * * *", "", "invalid_cron", "five fields"},
		{"TZ=Europe/Paris 0 9 * * *", "", "invalid_cron", "timezone"},
		{"CRON_TZ=UTC 0 9 * * *", "", "invalid_cron", "timezone"},
		{"TZ=", "", "invalid_cron", "timezone"},
		{"0 0 30 2 *", "", "invalid_cron", "never fires"},
		{"@every 500ms", "", "invalid_cron", "at least 1s"},
		{"@every 1500ms", "", "invalid_cron", "whole number"},
		{"@every -1s", "", "invalid_cron", "at least 1s"},
		{"@every", "", "invalid_cron", ""},
		{"@fortnightly", "", "invalid_cron", ""},
		{"*/0 * * * *", "", "invalid_cron", ""},
		{strings.Repeat("* ", 101), "", "invalid_cron", "200"},
		{"0 9 * * *", "Mars/Olympus", "invalid_timezone", "Europe/Paris"},
		{"0 9 * * *", "Local", "invalid_timezone", ""},
		{"0 9 * * *", "/etc/localtime", "invalid_timezone", ""},
	}
	for _, c := range cases {
		_, err := ParseSpec(c.cron, c.tz)
		var ce *core.Error
		if !errors.As(err, &ce) || !errors.Is(err, core.ErrInvalid) || ce.Code != c.code || !strings.Contains(ce.Message, c.detail) {
			t.Errorf("ParseSpec(%q, %q) = %v, want %s containing %q", c.cron, c.tz, err, c.code, c.detail)
		}
	}
	for _, ok := range []string{"0 9 * * *", "*/15 * * * * *", "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@every 30s", "@every 1h30m", "0 0 29 2 *"} {
		if _, err := ParseSpec(ok, "Europe/Paris"); err != nil {
			t.Errorf("ParseSpec(%q): %v", ok, err)
		}
	}
}

func TestNextRunsInTimezone(t *testing.T) {
	cases := []struct {
		cron, tz, from string
		want           []string
	}{
		// 09:00 in Paris is 08:00Z in winter (CET) and 07:00Z in summer (CEST).
		{"0 9 * * *", "Europe/Paris", "2026-01-15T12:00:00Z", []string{"2026-01-16T08:00:00Z", "2026-01-17T08:00:00Z"}},
		{"0 9 * * *", "Europe/Paris", "2026-07-15T12:00:00Z", []string{"2026-07-16T07:00:00Z", "2026-07-17T07:00:00Z"}},
		// Across the spring change (29 March 2026): still 09:00 local.
		{"0 9 * * *", "Europe/Paris", "2026-03-27T12:00:00Z", []string{"2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"}},
		// Clock changes follow the wall clock (docs/schedules.md): 02:30 does
		// not exist on 29 March, and happens twice on 25 October.
		{"30 2 * * *", "Europe/Paris", "2026-03-27T12:00:00Z", []string{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"}},
		{"30 2 * * *", "Europe/Paris", "2026-10-23T12:00:00Z", []string{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"}},
		{"0 9 * * *", "", "2026-01-15T12:00:00Z", []string{"2026-01-16T09:00:00Z"}},
		{"0 9 * * 1-5", "America/New_York", "2026-01-16T15:00:00Z", []string{"2026-01-19T14:00:00Z", "2026-01-20T14:00:00Z"}}, // Fri -> Mon
		{"*/15 * * * * *", "", "2026-01-15T12:00:07Z", []string{"2026-01-15T12:00:15Z", "2026-01-15T12:00:30Z"}},
		{"@hourly", "Asia/Kolkata", "2026-01-15T12:10:00Z", []string{"2026-01-15T12:30:00Z", "2026-01-15T13:30:00Z"}}, // UTC+5:30
		{"@every 90s", "", "2026-01-15T12:00:00.5Z", []string{"2026-01-15T12:01:30Z", "2026-01-15T12:03:00Z"}},
	}
	for _, c := range cases {
		s, err := ParseSpec(c.cron, c.tz)
		if err != nil {
			t.Fatal(err)
		}
		first := s.Next(ts(c.from))
		got := s.NextRuns(first, len(c.want))
		for i, w := range c.want {
			if i >= len(got) || !got[i].Equal(ts(w)) || got[i].Location() != time.UTC {
				t.Errorf("%s in %q from %s: next runs %v, want %v", c.cron, c.tz, c.from, got, c.want)
				break
			}
		}
	}
}

// TestLatestMatchesWalk checks the long-gap search against a plain walk.
func TestLatestMatchesWalk(t *testing.T) {
	for _, c := range []struct{ cron, tz, first, now string }{
		{"0 9 * * *", "Europe/Paris", "2023-01-01T08:00:00Z", "2026-05-17T10:11:12Z"},
		{"0 9 * * *", "", "2026-05-17T09:00:00Z", "2026-05-17T09:00:00Z"},
		{"*/7 * * * * *", "", "2026-01-01T00:00:00Z", "2026-01-02T03:04:05Z"},
		{"* * 1 * *", "", "2026-01-01T00:00:00Z", "2026-03-15T00:00:00Z"},
		{"0 0 29 2 *", "", "2024-02-29T00:00:00Z", "2031-01-01T00:00:00Z"},
		{"@every 7s", "", "2026-01-01T00:00:03Z", "2027-01-01T00:00:00Z"},
	} {
		s, err := ParseSpec(c.cron, c.tz)
		if err != nil {
			t.Fatal(err)
		}
		first, now := ts(c.first), ts(c.now)
		if c.cron != "@every 7s" && !s.Next(first.Add(-time.Second)).Equal(first) {
			t.Fatalf("%s: %s is not a slot", c.cron, first)
		}
		want := first
		for n := s.Next(first); !n.IsZero() && !n.After(now); n = s.Next(n) {
			want = n
		}
		if got := s.latest(first, now); !got.Equal(want) {
			t.Errorf("%s: latest(%s, %s) = %s, want %s", c.cron, first, now, got, want)
		}
	}
}

func TestPlan(t *testing.T) {
	hourly, _ := ParseSpec("0 * * * *", "")
	every, _ := ParseSpec("@every 1s", "")
	type want struct {
		runs   []string // slot, "+c" for a catch-up
		next   string
		missed bool
	}
	cases := []struct {
		name   string
		spec   Spec
		first  string
		now    string
		policy string
		want   want
	}{
		{"on time", hourly, "2026-01-01T10:00:00Z", "2026-01-01T10:00:00.3Z", MissedSkip,
			want{[]string{"2026-01-01T10:00:00Z"}, "2026-01-01T11:00:00Z", false}},
		{"late within a minute, next not due", hourly, "2026-01-01T10:00:00Z", "2026-01-01T10:00:59Z", MissedSkip,
			want{[]string{"2026-01-01T10:00:00Z"}, "2026-01-01T11:00:00Z", false}},
		{"late past a minute: skip", hourly, "2026-01-01T10:00:00Z", "2026-01-01T10:30:00Z", MissedSkip,
			want{nil, "2026-01-01T11:00:00Z", true}},
		{"late past a minute: run_once", hourly, "2026-01-01T10:00:00Z", "2026-01-01T10:30:00Z", MissedRunOnce,
			want{[]string{"2026-01-01T10:00:00Z+c"}, "2026-01-01T11:00:00Z", true}},
		{"three missed, all late: skip", hourly, "2026-01-01T10:00:00Z", "2026-01-01T12:30:00Z", MissedSkip,
			want{nil, "2026-01-01T13:00:00Z", true}},
		{"three missed, all late: run_once runs the latest", hourly, "2026-01-01T10:00:00Z", "2026-01-01T12:30:00Z", MissedRunOnce,
			want{[]string{"2026-01-01T12:00:00Z+c"}, "2026-01-01T13:00:00Z", true}},
		{"missed then one on time: skip", hourly, "2026-01-01T10:00:00Z", "2026-01-01T12:00:20Z", MissedSkip,
			want{[]string{"2026-01-01T12:00:00Z"}, "2026-01-01T13:00:00Z", true}},
		{"missed then one on time: run_once", hourly, "2026-01-01T10:00:00Z", "2026-01-01T12:00:20Z", MissedRunOnce,
			want{[]string{"2026-01-01T11:00:00Z+c", "2026-01-01T12:00:00Z"}, "2026-01-01T13:00:00Z", true}},
		{"every second, 3s down: skip", every, "2026-01-01T10:00:01Z", "2026-01-01T10:00:04.2Z", MissedSkip,
			want{[]string{"2026-01-01T10:00:04Z"}, "2026-01-01T10:00:05Z", true}},
		{"every second, 3s down: run_once", every, "2026-01-01T10:00:01Z", "2026-01-01T10:00:04.2Z", MissedRunOnce,
			want{[]string{"2026-01-01T10:00:03Z+c", "2026-01-01T10:00:04Z"}, "2026-01-01T10:00:05Z", true}},
		{"every second, a year down", every, "2025-01-01T10:00:01Z", "2026-01-01T10:00:04.2Z", MissedRunOnce,
			want{[]string{"2026-01-01T10:00:03Z+c", "2026-01-01T10:00:04Z"}, "2026-01-01T10:00:05Z", true}},
	}
	for _, c := range cases {
		runs, next, missed := c.spec.plan(ts(c.first), ts(c.now), c.policy, time.Minute)
		var got []string
		for _, r := range runs {
			s := r.slot.Format(time.RFC3339)
			if r.catchUp {
				s += "+c"
			}
			got = append(got, s)
		}
		if strings.Join(got, ",") != strings.Join(c.want.runs, ",") || !next.Equal(ts(c.want.next)) || missed != c.want.missed {
			t.Errorf("%s: runs %v next %s missed %v; want %v next %s missed %v", c.name, got, next.Format(time.RFC3339), missed,
				c.want.runs, c.want.next, c.want.missed)
		}
	}
}
