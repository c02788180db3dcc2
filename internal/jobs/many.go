package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/store"
)

// PushMany is one HTTP-push job of a CreateManyTx batch.
type PushMany struct {
	TenantID      string
	Push          PreparedPush // from PreparePush
	CorrelationID string
}

// CreateManyTx enqueues many prepared HTTP-push jobs inside tx: all go in
// one River InsertManyTx and one multi-row insert of joist's records per
// tenant. A job with a unique key goes through CreatePreparedTx (River may
// skip it as a duplicate). It returns the job ids in order.
func (s *Service) CreateManyTx(ctx context.Context, tx *store.Tx, items []PushMany) ([]string, error) {
	ids := make([]string, len(items))
	params := make([]river.InsertManyParams, 0, len(items))
	idx := make([]int, 0, len(items))
	argsOf := make([]PushArgs, 0, len(items))
	for i, it := range items {
		if !it.Push.ok {
			return nil, fmt.Errorf("job %d: jobs: CreateManyTx given a PreparedPush that PreparePush did not return", i)
		}
		if it.Push.args.UniqueKey != "" {
			j, _, err := s.CreatePreparedTx(ctx, tx, it.TenantID, it.Push, it.CorrelationID)
			if err != nil {
				return nil, fmt.Errorf("job %d: %w", i, err)
			}
			ids[i] = j.ID
			continue
		}
		args, opts := it.Push.args, it.Push.opts
		args.TenantID = it.TenantID
		if args.JobID == "" {
			args.JobID = store.NewID("job_")
		}
		args.CorrelationID = it.CorrelationID
		ids[i] = args.JobID
		params = append(params, river.InsertManyParams{Args: args, InsertOpts: &opts})
		idx = append(idx, i)
		argsOf = append(argsOf, args)
	}
	if len(params) == 0 {
		return ids, nil
	}
	res, err := s.engine.insertManyTx(ctx, tx, params)
	if err != nil {
		return nil, err
	}
	if len(res) != len(params) {
		return nil, fmt.Errorf("river inserted %d of %d jobs", len(res), len(params))
	}
	now := s.now()
	byTenant := map[string][]record{}
	var order []string
	for k, r := range res {
		in := items[idx[k]]
		a := argsOf[k]
		if _, ok := byTenant[in.TenantID]; !ok {
			order = append(order, in.TenantID)
		}
		byTenant[in.TenantID] = append(byTenant[in.TenantID], record{ID: a.JobID, RiverID: r.Job.ID, Kind: a.Kind(),
			Queue: params[k].InsertOpts.Queue, URL: a.URL, Method: a.Method, Schedule: in.Push.schedule,
			CorrelationID: in.CorrelationID, CreatedAt: now})
	}
	for _, t := range order {
		if err := (scope{tx.Tenant(t)}).jobInsertMany(ctx, byTenant[t]); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
