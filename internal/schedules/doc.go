// Package schedules is joist's durable cron: schedules stored in the
// database (a cron expression, a timezone, an HTTP-push job template and a
// missed-run policy) and a scheduler that runs on every node.
//
// Each node ticks a few times a second, finds the schedules whose next slot
// is due and, for each, in one transaction: moves next_run_at past now with a
// compare-and-set (same version, same next_run_at), claims each slot it
// enqueues with the unique (schedule_id, slot) key of schedule_runs, and
// enqueues the job through jobs.Service.CreateTx. Whichever node is first
// wins; the others find the slot taken and skip it. Everything lives in the
// database, so schedules survive restarts and the loss of any node, unlike
// River's periodic jobs, which live in the leader's memory.
//
// docs/schedules.md describes the API, the cron syntax, the missed-run
// policy and how the once-per-slot guarantee is tested.
package schedules
