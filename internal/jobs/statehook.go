package jobs

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/riverqueue/river/rivertype"

	"github.com/joist-dev/joist/internal/store"
)

// The hooks below let another system show or filter by the state of jobs
// it enqueued (a webhook event's status is its forward job's) without
// reading the jobs system's tables: the SQL that does stays here.

// statesChunk bounds the ids one States query names.
const statesChunk = 500

// States answers the user-visible state (AllStates) of each of the
// scope's tenant's jobs ids, by id; a job no longer kept (or another
// tenant's) is absent from the answer.
func States(ctx context.Context, sc *store.Scope, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for start := 0; start < len(ids); start += statesChunk {
		chunk := ids[start:min(start+statesChunk, len(ids))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, sc.TenantID())
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := sc.Tx().Query(ctx, `SELECT j.id, r.state, j.dead_reason FROM jobs j JOIN river_job r ON r.id = j.river_id
			WHERE j.tenant_id = ? AND j.id IN (?`+store.MorePlaceholders(len(chunk)-1)+`)`, args...)
		type state struct{ id, river, dead string }
		got, err := store.Collect(rows, err, func(r store.Rows) (state, error) {
			var s state
			err := r.Scan(&s.id, &s.river, &s.dead)
			return s, err
		})
		if err != nil {
			return nil, err
		}
		for _, s := range got {
			out[s.id] = userState(s.river, s.dead)
		}
	}
	return out, nil
}

// InStates is a condition for another system's query on its own table:
// true where the column idCol (an expression such as "e.forward_job_id")
// names a job of the scope's tenant whose user-visible state is one of
// states; args are its placeholders' values, in order. It is a correlated
// EXISTS, so a listing that pages by its own key stops at its LIMIT on
// both stores instead of collecting every matching job first.
func InStates(sc *store.Scope, idCol string, states []string) (string, []any, error) {
	for _, st := range states {
		if !slices.Contains(AllStates, st) {
			return "", nil, fmt.Errorf("unknown job state %q", st)
		}
	}
	// Every (River state, dead reason set) pair whose user-visible state
	// is wanted, derived from userState so the two never disagree.
	var conds, plain []string
	for _, rs := range rivertype.JobStates() {
		live := slices.Contains(states, userState(string(rs), ""))
		dead := slices.Contains(states, userState(string(rs), "dead_reason"))
		switch {
		case live && dead:
			plain = append(plain, "'"+string(rs)+"'")
		case live:
			conds = append(conds, "(r.state = '"+string(rs)+"' AND j.dead_reason = '')")
		case dead:
			conds = append(conds, "(r.state = '"+string(rs)+"' AND j.dead_reason <> '')")
		}
	}
	if len(plain) > 0 { // River's own state names, never input: written as literals
		conds = append([]string{"r.state IN (" + strings.Join(plain, ", ") + ")"}, conds...)
	}
	if len(conds) == 0 {
		return "1 = 0", nil, nil
	}
	return "EXISTS (SELECT 1 FROM jobs j JOIN river_job r ON r.id = j.river_id WHERE j.tenant_id = ? AND j.id = " + idCol +
		" AND (" + strings.Join(conds, " OR ") + "))", []any{sc.TenantID()}, nil
}
