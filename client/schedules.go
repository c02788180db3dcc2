package client

import (
	"context"
	"net/http"

	"github.com/joist-dev/joist/wire"
)

// ScheduleJob is the HTTP-push job a schedule enqueues at each slot (the
// fields of a job that make sense for recurring work; empty ones take the
// defaults of POST /v1/jobs).
type ScheduleJob = wire.ScheduleJob

// SchedulePut creates or replaces a schedule: fields left empty take their
// defaults (timezone UTC, missed "skip", not paused).
type SchedulePut = wire.SchedulePut

// Schedule is a durable cron schedule.
type Schedule = wire.Schedule

// PutSchedule creates or replaces the schedule name; created reports which.
func (c *Client) PutSchedule(ctx context.Context, name string, in SchedulePut, opts ...Option) (*Schedule, bool, error) {
	var s Schedule
	status, err := c.do(ctx, http.MethodPut, "/v1/schedules/"+esc(name), nil, in, &s, opts)
	if err != nil {
		return nil, false, err
	}
	return &s, status == http.StatusCreated, nil
}

// GetSchedule finds a schedule by name.
func (c *Client) GetSchedule(ctx context.Context, name string, opts ...Option) (*Schedule, error) {
	var s Schedule
	_, err := c.do(ctx, http.MethodGet, "/v1/schedules/"+esc(name), nil, nil, &s, opts)
	return ret(&s, err)
}

// ListSchedules lists the tenant's schedules by name.
func (c *Client) ListSchedules(ctx context.Context, lo ListOptions, opts ...Option) (*List[Schedule], error) {
	var l List[Schedule]
	_, err := c.do(ctx, http.MethodGet, "/v1/schedules", lo.values(), nil, &l, opts)
	return ret(&l, err)
}

// PauseSchedule stops a schedule firing.
func (c *Client) PauseSchedule(ctx context.Context, name string, opts ...Option) (*Schedule, error) {
	var s Schedule
	_, err := c.do(ctx, http.MethodPost, "/v1/schedules/"+esc(name)+"/pause", nil, nil, &s, opts)
	return ret(&s, err)
}

// ResumeSchedule makes a paused schedule fire again from its next slot.
func (c *Client) ResumeSchedule(ctx context.Context, name string, opts ...Option) (*Schedule, error) {
	var s Schedule
	_, err := c.do(ctx, http.MethodPost, "/v1/schedules/"+esc(name)+"/resume", nil, nil, &s, opts)
	return ret(&s, err)
}

// DeleteSchedule deletes a schedule; jobs it already enqueued stay.
func (c *Client) DeleteSchedule(ctx context.Context, name string, opts ...Option) (*Schedule, error) {
	var s Schedule
	_, err := c.do(ctx, http.MethodDelete, "/v1/schedules/"+esc(name), nil, nil, &s, opts)
	return ret(&s, err)
}
