package schedules

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/joist-dev/joist/internal/core"
)

// parser reads five fields, an optional leading seconds field, and
// descriptors (@hourly, @daily, @every 30s ...). It is an immutable value.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Spec is a parsed cron expression in its timezone.
type Spec struct {
	sched cron.Schedule
	loc   *time.Location
	// every is set for "@every d": slots are a chain d apart from the
	// first one (not aligned to the clock), so they are computed, not searched.
	every time.Duration
}

const cronHelp = "use five fields (minute hour day-of-month month day-of-week), an optional leading seconds field, " +
	"or a descriptor such as @hourly, @daily or @every 30s"

// ParseSpec parses a cron expression and an IANA timezone ("" is UTC).
func ParseSpec(expr, timezone string) (Spec, error) {
	loc, err := loadTimezone(timezone)
	if err != nil {
		return Spec{}, err
	}
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return Spec{}, core.Invalid("invalid_cron", "cron is required; %s", cronHelp)
	case len(expr) > 200:
		return Spec{}, core.Invalid("invalid_cron", "cron is longer than 200 characters")
	case strings.HasPrefix(strings.ToUpper(expr), "TZ=") || strings.HasPrefix(strings.ToUpper(expr), "CRON_TZ="):
		return Spec{}, core.Invalid("invalid_cron", "cron %q starts with a timezone; give the timezone in the \"timezone\" field instead", expr)
	}
	sched, err := parse(expr)
	if err != nil {
		return Spec{}, core.Invalid("invalid_cron", "cron %q: %v; %s", expr, err, cronHelp)
	}
	s := Spec{sched: sched, loc: loc}
	if rest, ok := strings.CutPrefix(expr, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d < time.Second || d%time.Second != 0 {
			return Spec{}, core.Invalid("invalid_cron", "cron %q: @every takes a whole number of seconds, at least 1s, such as @every 30s or @every 5m", expr)
		}
		s.every = d
	}
	if s.Next(time.Now()).IsZero() {
		return Spec{}, core.Invalid("invalid_cron", "cron %q never fires (no matching time in the next five years)", expr)
	}
	return s, nil
}

// parse calls the cron library, turning a panic on odd input into an error.
func parse(expr string) (s cron.Schedule, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("%v", p)
		}
	}()
	return parser.Parse(expr)
}

func loadTimezone(tz string) (*time.Location, error) {
	if tz == "" || tz == "UTC" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" || strings.HasPrefix(tz, "/") {
		return nil, core.Invalid("invalid_timezone", "timezone %q is not an IANA time zone such as Europe/Paris or America/New_York", tz)
	}
	return loc, nil
}

// Next is the first slot strictly after t (UTC), or the zero time when
// there is none in the next five years.
func (s Spec) Next(t time.Time) time.Time {
	n := s.sched.Next(t.In(s.loc))
	if n.IsZero() {
		return n
	}
	return n.UTC()
}

// NextRuns lists n slots starting at first (a slot itself).
func (s Spec) NextRuns(first time.Time, n int) []time.Time {
	out := []time.Time{}
	for t := first.UTC(); len(out) < n && !t.IsZero(); t = s.Next(t) {
		out = append(out, t)
	}
	return out
}

// latest returns the last slot at or before now of the chain that starts at
// first (a slot, at or before now).
func (s Spec) latest(first, now time.Time) time.Time {
	if s.every > 0 {
		return first.Add(now.Sub(first) / s.every * s.every)
	}
	t := first
	// Usually one or two slots are due: walk.
	for range 64 {
		n := s.Next(t)
		if n.IsZero() || n.After(now) {
			return t
		}
		t = n
	}
	// A long gap (every node was down for a while): calendar slots do not
	// depend on where the search starts, so look back from now, doubling
	// the window until it holds a slot, then walk that window.
	for d := time.Minute; ; d *= 2 {
		from := now.Add(-d)
		if from.Before(t) {
			from = t
		}
		if n := s.Next(from); !n.IsZero() && !n.After(now) {
			t = n
			for {
				m := s.Next(t)
				if m.IsZero() || m.After(now) {
					return t
				}
				t = m
			}
		}
		if from.Equal(t) {
			return t
		}
	}
}

// slotRun is one slot to enqueue.
type slotRun struct {
	slot    time.Time
	catchUp bool
}

// plan decides what happens to a schedule whose next slot (first) is due at
// now. A slot is missed when it is handled after the schedule's following
// slot is already due, or more than maxLate after its time. The latest due
// slot, when not missed, runs whatever the policy; missed slots run not at
// all (skip) or once, as the most recent of them (run_once). next is the
// first slot after now; missed says whether any slot was missed.
func (s Spec) plan(first, now time.Time, policy string, maxLate time.Duration) (runs []slotRun, next time.Time, missed bool) {
	last := s.latest(first, now)
	onTime := now.Sub(last) <= maxLate
	missed = !onTime || last.After(first)
	if policy == MissedRunOnce {
		switch {
		case !onTime:
			runs = append(runs, slotRun{slot: last, catchUp: true})
		case last.After(first):
			runs = append(runs, slotRun{slot: s.latest(first, last.Add(-time.Nanosecond)), catchUp: true})
		}
	}
	if onTime {
		runs = append(runs, slotRun{slot: last})
	}
	next = s.Next(last)
	if next.IsZero() {
		// No slot in five years from last: look again in a year.
		next = now.AddDate(1, 0, 0).Truncate(time.Second)
	}
	return runs, next, missed
}
