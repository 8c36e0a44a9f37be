package workflows

// Revision is the behaviour revision new runs are started with (and runs
// continue as new with). A run's revision is in its input, so it is in its
// history: a run replays with the behaviour it was started with, and a
// change costs no version marker (nor search-attribute upsert) per new
// entity. Revision 0 runs, from before revisions, replay with GetVersion.
//
// Revision 1: the previous run is read by name (DescribeRun), never through
// visibility; the snapshot is upserted at every applied transition; the
// provider API read is a local activity, and a 404 is retried for NotFoundWindow
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
//
// Revision 4: every provider's API is read with one activity,
// FetchEntityStatus, the built-in order API's too (earlier runs read it
// with activities.BuiltInOrderRead).
//
// Revision 5: the event memory also remembers the signed body of an event
// whose provider leaves the event ID outside its signature
// (event.Event.BodyDigest, Fenix's), so that a body it holds is a duplicate
// whatever its event ID, also when Redis has forgotten it (contract
// section 17). Such an event takes two of the memory's maxRemembered
// entries.
const Revision = 5

// behaviour is what a run does differently by revision, decided once when
// the run begins (behaviourOf its input's Revision) and read by name
// everywhere else: the code says what a revision changes, not its number.
type behaviour struct {
	// Revision 1.

	// loadByName: a reopened entity reads the closed run it names
	// (DescribeRun), never the latest through visibility.
	loadByName bool
	// localAPIRead: the provider API is read by a local activity, a 404
	// retried for NotFoundWindow before the webhook's status applies
	// (revision 0: a regular activity, any failure an error).
	localAPIRead bool
	// rememberHandled: an event ID is remembered once its handling has
	// finished, not on receipt.
	rememberHandled bool
	// oneLingerTimer: one linger timer per terminal status, not one per
	// wait.
	oneLingerTimer bool
	// upsertChanged: search attributes are upserted only when they change;
	// the identifying ones come with the start.
	upsertChanged bool
	// staleByProviderTime and idleClose always apply (revision 0 runs ask
	// GetVersion).
	staleByProviderTime bool
	idleClose           bool
	// detailsLastError: the UI details show the last error.
	detailsLastError bool

	// Revisions 1 and 2.

	// memoPerTransition: the snapshot is upserted into the memo at every
	// applied transition and before continuing as new.
	memoPerTransition bool

	// Revisions 0 to 2.

	// memoSnapshot: the run leaves its snapshot in its memo (MemoKey) when
	// it closes; later runs answer QuerySnapshot instead.
	memoSnapshot bool

	// Revision 2.

	// reconcile: an entity whose provider has an API is re-read on
	// EntityInput.Reconcile (reconcile.go).
	reconcile bool
	// overdue: an entity past its status's deadline is flagged
	// (overdue.go).
	overdue bool

	// Revision 3.

	// querySnapshot: the next run asks the closed run for its whole state
	// (QuerySnapshot), notices, overdue flag, rejections and memory
	// watermark included.
	querySnapshot bool
	// publishPerTask: search attributes, the summary memo and the UI
	// details are published once per workflow task (flush).
	publishPerTask bool
	// continueOnHistory: the run continues as new on its history's size
	// and length too.
	continueOnHistory bool
	// holdForSlow: a slow destination holds up to EntityInput.MaxHeld
	// transitions and the entity takes no new event until it catches up;
	// no delivery is skipped: past the bound behind a failed one it is
	// recorded failed (Delivery.Unheld).
	holdForSlow bool
	// chunkedMemory: the event-ID memory forgets in chunks and keeps a
	// provider-time watermark, below which an unremembered event is stale.
	chunkedMemory bool
	// boundedTasks: a workflow task takes at most maxEventsPerTask events.
	boundedTasks bool
	// finishOnCancel: an operator's cancel waits for the API read or the
	// previous run's load in hand.
	finishOnCancel bool

	// Revision 4.

	// oneAPIRead: every provider's API is read with FetchEntityStatus.
	oneAPIRead bool

	// Revision 5.

	// digestMemory: the event memory remembers an event's BodyDigest
	// beside its ID, and an event whose digest it holds is a duplicate.
	digestMemory bool
}

// behaviourOf is the behaviour of a run of revision rev.
func behaviourOf(rev int) behaviour {
	return behaviour{
		loadByName:          rev >= 1,
		localAPIRead:        rev >= 1,
		rememberHandled:     rev >= 1,
		oneLingerTimer:      rev >= 1,
		upsertChanged:       rev >= 1,
		staleByProviderTime: rev >= 1,
		idleClose:           rev >= 1,
		detailsLastError:    rev >= 1,
		memoPerTransition:   rev == 1 || rev == 2,
		memoSnapshot:        rev < 3,
		reconcile:           rev >= 2,
		overdue:             rev >= 2,
		querySnapshot:       rev >= 3,
		publishPerTask:      rev >= 3,
		continueOnHistory:   rev >= 3,
		holdForSlow:         rev >= 3,
		chunkedMemory:       rev >= 3,
		boundedTasks:        rev >= 3,
		finishOnCancel:      rev >= 3,
		oneAPIRead:          rev >= 4,
		digestMemory:        rev >= 5,
	}
}
