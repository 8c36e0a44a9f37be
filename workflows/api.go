package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/event"
)

// readStatus asks the provider API for the entity's status on behalf of
// event ev. The API is authoritative when it answers. A 404 is read as the
// API not having caught up with the webhook yet and is retried for the
// not-found window; past it, or on another 4xx, the webhook's own
// (authenticated) status applies: fellBack is true and the API's error is
// in State.LastError. err is set only when the API stayed unavailable for
// the whole retry period (revision 0: on any failure).
func (e *entity) readStatus(ctx workflow.Context, ev event.Event) (status string, fellBack bool, err error) {
	if !e.does.localAPIRead {
		status, err = e.fetchStatus(ctx)
		return status, false, err
	}
	var firstNotFound time.Time
	for attempt := 0; ; attempt++ {
		status, err = e.fetchLocal(ctx)
		var app *temporal.ApplicationError
		final := errors.As(err, &app) && (app.NonRetryable() || slices.Contains(activities.NonRetryable, app.Type()))
		switch {
		case err == nil:
			e.state.LastError = ""
			return status, false, nil
		case !final:
			return "", false, errors.New(clipTo(cause(err), maxTextBytes))
		case app.Type() != activities.ErrOrderNotFound:
			e.state.LastError = clipTo(cause(err), maxTextBytes) + "; applied the webhook's status"
			return "", true, nil
		}
		now := workflow.Now(ctx)
		if firstNotFound.IsZero() {
			firstNotFound = now
		}
		left := firstNotFound.Add(e.notFound).Sub(now)
		if left <= 0 {
			e.state.LastError = clipTo(cause(err), maxTextBytes) + fmt.Sprintf(" for %s; applied the webhook's status", e.notFound)
			return "", true, nil
		}
		e.state.LastError = clipTo(cause(err), maxTextBytes) + "; retrying while the API catches up"
		e.details(ctx)
		if err := workflow.Sleep(ctx, min(time.Duration(1<<min(attempt, 5))*time.Second, left)); err != nil {
			return "", false, fmt.Errorf("read cancelled: %w", err)
		}
	}
}

// apiRetry retries a provider API read through an outage: a day of it is
// retried, past that the error is recorded and the entity goes on handling
// its other events (reprocess retries).
var apiRetry = &temporal.RetryPolicy{
	InitialInterval:        time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        5 * time.Minute,
	NonRetryableErrorTypes: activities.NonRetryable,
}

// fetchLocal reads the provider API as a local activity: it runs in the
// workflow task that handles the event, so an event costs one workflow task
// instead of two plus an activity task. Long outages are retried with
// timers by the SDK, durably across worker restarts.
func (e *entity) fetchLocal(ctx workflow.Context) (string, error) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            apiRetry,
	})
	read, in := e.apiRead()
	var out activities.OrderStatus
	if err := workflow.ExecuteLocalActivity(lctx, read, in).Get(ctx, &out); err != nil {
		return "", err
	}
	return out.Status, nil
}

// apiRead is the activity that reads the entity's status from its
// provider's API, and its input. Every provider's API is read with
// FetchEntityStatus (revision 4); earlier runs read the one built-in kind
// whose table had an API then with activities.BuiltInOrderRead, as their
// histories recorded.
func (e *entity) apiRead() (activity any, input any) {
	if !e.does.oneAPIRead && e.builtInAPI() {
		return activities.BuiltInOrderRead, activities.FetchOrderInput{OrderID: e.state.EntityID}
	}
	var a *activities.Activities
	return a.FetchEntityStatus, activities.FetchStatusInput{Provider: e.state.Provider, EntityID: e.state.EntityID}
}

// builtInAPI reports whether the entity is of the built-in kind whose
// frozen table (tables-before-input.json) has an API: the only one read
// with BuiltInOrderRead before revision 4.
func (e *entity) builtInAPI() bool {
	t, ok := tablesBeforeInput[e.in.Provider+"-"+e.in.EntityType]
	return ok && t.API
}

// cause is the message of the innermost error, without the activity wrapper.
func cause(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
