package workflows

// Revision is the behaviour revision new runs are started with (and runs
// continue as new with). A run's revision is in its input, so it is in its
// history: a run replays with the behaviour it was started with, and a
// change costs no version marker (nor search-attribute upsert) per new
// entity. Revision 0 runs, from before revisions, replay with GetVersion.
//
// Revision 1: the previous run is read by name (DescribeRun), never through
// visibility; the snapshot is upserted at every applied transition; the
// Phoenix read is a local activity, and a 404 is retried for NotFoundWindow
// before the webhook's status applies; an event ID is remembered only once
// its handling has finished; one linger timer per terminal status; search
// attributes are upserted only when they change; stale-by-provider-time and
// idle closing always apply.
//
// Revision 2: an entity whose provider has an API is reconciled on
// EntityInput.Reconcile (reconcile.go), and one past its status's deadline
// in EntityInput.Overdue is flagged (overdue.go).
//
// Revision 3: a run keeps every promise whatever load and operators do
// (issue 25). No memo: the next run of an entity asks the closed run for
// its state (QuerySnapshot); search attributes are upserted at most once
// per workflow task; the run continues as new on the history's size and
// length too; a slow destination holds up to EntityInput.MaxHeld
// transitions, and past that the entity takes no new event until it
// catches up (the events wait, durably, in the run's signal queue); past
// the bound behind a failed delivery, transitions are recorded failed and
// redeliver sends the entity's current state after what is held; the
// event-ID memory forgets in chunks and keeps a provider-time watermark,
// below which an unremembered event is stale.
const Revision = 3
