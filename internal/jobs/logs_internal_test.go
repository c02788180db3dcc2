package jobs

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

// TestRiverLogNamesJoistsJobs: River's lines about a job carry joist's id
// as job_id (River's own as river_job_id), from the worker's memory or the
// jobs table; "Producer job counts" is DEBUG, not INFO.
func TestRiverLogNamesJoistsJobs(t *testing.T) {
	loads := 0
	ids := newJobIDs(func(_ context.Context, riverID int64) (string, error) {
		loads++
		if riverID == 9 {
			return "job_01fromthetable", nil
		}
		return "", nil
	})
	ids.remember(7, "job_01worked")
	var buf bytes.Buffer
	log := slog.New(riverLog{inner: slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}), ids: ids}).With("service", "jobs")

	log.Info("jobexecutor: Job errored", slog.String("error", "target answered 500"), slog.Int64("job_id", 7), slog.String("job_kind", "http_push"))
	log.Warn("rescuer: rescued", slog.Int64("job_id", 9))
	log.Warn("rescuer: rescued", slog.Int64("job_id", 9))
	log.Warn("rescuer: unknown", slog.Int64("job_id", 11))
	log.Info("producer: Producer job counts", slog.Int("num_jobs_running", 1))
	out := buf.String()
	for _, want := range []string{
		`msg="jobexecutor: Job errored" service=jobs error="target answered 500" job_id=job_01worked river_job_id=7 job_kind=http_push`,
		`job_id=job_01fromthetable river_job_id=9`,
		`msg="rescuer: unknown" service=jobs river_job_id=11`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Producer job counts") || regexp.MustCompile(` job_id=[0-9]`).MatchString(out) {
		t.Errorf("log at INFO:\n%s", out)
	}
	if loads != 2 {
		t.Errorf("%d reads of the jobs table, want 2 (one per unknown id, 9 then cached, and 11)", loads)
	}

	buf.Reset()
	debug := slog.New(riverLog{inner: slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), ids: ids})
	debug.Info("producer: Producer job counts", slog.Int("num_jobs_running", 1))
	if !strings.Contains(buf.String(), `level=DEBUG msg="producer: Producer job counts"`) {
		t.Errorf("at DEBUG, the producer's counts are logged at DEBUG:\n%s", buf.String())
	}
}
