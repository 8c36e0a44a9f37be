package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The secrets the suite configures and signs with. The signing below is
// written from the contract (section 3), independently of receivers/, as a
// provider would write it.
const (
	phoenixSecret  = "e2e-phoenix-secret"
	phosphorSecret = "e2e-phosphor-secret"
	up42Secret     = "e2e-up42-secret"
	fenixSecret    = "e2e-fenix-secret"
	phantomToken   = "e2e0phantom0token0first0half0000e2e0phantom0token0second0half000"
)

// secretEnv configures every provider of a hookflow process.
func secretEnv() []string {
	return []string{
		"PHOENIX_WEBHOOK_SECRET=" + phoenixSecret,
		"PHOSPHOR_WEBHOOK_SECRET=" + phosphorSecret,
		"UP42_WEBHOOK_SECRET=" + up42Secret,
		"FENIX_CLIENT_SECRET=" + fenixSecret,
		"PHANTOM_WEBHOOK_TOKEN=" + phantomToken,
	}
}

// delivery is one webhook as its provider sends it, every attempt the same
// bytes.
type delivery struct {
	key        string // the event as the suite names it, unique in a run
	provider   string
	route      string
	workflowID string // the contract's workflow ID for the entity
	status     string
	body       []byte
	header     http.Header
	// before runs before the first attempt: Phoenix sets the order's status
	// in its API before it sends the webhook.
	before func()
	// afterHandled: the delivery is sent only once the entity's workflow
	// has handled the previous one, as a provider whose API moves on only
	// after the last webhook was processed; so what the API answers at each
	// webhook's handling is known from the plan alone.
	afterHandled bool
	// want is what the plan says becomes of the delivery.
	want expectation
}

// expectation is a delivery's result computed from the plan alone: the
// transition it applies, from → to with its source. When orReconciled is
// set, a reconcile check may have found the change first (the API already
// said so): the transition is then the check's (source reconcile) and the
// delivery is judged unchanged.
type expectation struct {
	from, to, source string
	orReconciled     bool
}

// entityPlan is one entity's lifecycle: its deliveries, sent in order, and
// the status the entity must end in.
type entityPlan struct {
	workflowID string
	final      string
	deliveries []delivery
	// reconciled are the transitions a reconcile check must apply after
	// the deliveries, with no webhook (one that never came).
	reconciled []expectation
}

// kind builds the lifecycle of one entity of one provider.
type kind struct {
	name  string
	build func(id string, api *phoenixAPI) entityPlan
}

// kinds are every provider's entities, each through its whole lifecycle
// to a terminal status (contract section 4).
var kinds = []kind{
	{"phoenix-order", phoenixOrder},
	{"phoenix-ahead", phoenixAhead},
	{"phosphor-item", phosphorItem},
	{"phosphor-listing", phosphorListing},
	{"up42-order", up42Order},
	{"fenix-shipment", fenixShipment},
	{"phantom-transaction", phantomTransaction},
}

// plan is perKind entities of every kind, their IDs starting with prefix.
func plan(prefix string, perKind int, api *phoenixAPI) []entityPlan {
	var out []entityPlan
	for i := range perKind {
		for _, k := range kinds {
			out = append(out, k.build(fmt.Sprintf("%s-%s-%d", prefix, k.name, i), api))
		}
	}
	return out
}

// planOf is n entities of one kind.
func planOf(k kind, prefix string, n int, api *phoenixAPI) []entityPlan {
	out := make([]entityPlan, n)
	for i := range out {
		out[i] = k.build(fmt.Sprintf("%s-%s-%d", prefix, k.name, i), api)
	}
	return out
}

func kindNamed(name string) kind {
	for _, k := range kinds {
		if k.name == name {
			return k
		}
	}
	panic("no kind " + name)
}

// lifecycle builds one delivery per status, the provider's timestamps one
// second apart so that order is also what the providers' clocks say.
func lifecycle(workflowID string, statuses []string, one func(i int, status string, at time.Time) delivery) entityPlan {
	p := entityPlan{workflowID: workflowID, final: statuses[len(statuses)-1]}
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	from := ""
	for i, s := range statuses {
		d := one(i, s, t0.Add(time.Duration(i)*time.Second))
		d.key = fmt.Sprintf("%s#%d", workflowID, i)
		d.workflowID, d.status = workflowID, s
		// Each entity's deliveries are sent in order, one after the
		// other's 200, and every lifecycle only moves forward: each
		// applies its status.
		d.want = expectation{from: from, to: s, source: "webhook"}
		from = s
		p.deliveries = append(p.deliveries, d)
	}
	return p
}

func jsonHeader() http.Header {
	return http.Header{"Content-Type": {"application/json"}}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func hmacSHA256(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// phoenixOrder is an order whose API says each webhook's status before
// the webhook comes, and moves on only once the last one was handled: each
// webhook applies the API's status (source api), the last one unless a
// reconcile check found it first.
func phoenixOrder(id string, api *phoenixAPI) entityPlan {
	p := lifecycle("phoenix-order:"+id, []string{"pending", "fulfilled"}, func(i int, status string, at time.Time) delivery {
		return phoenixDelivery(id, i, status, at, func() { api.set(id, status) })
	})
	for i := range p.deliveries {
		d := &p.deliveries[i]
		d.want.source = "api"
		d.afterHandled, d.want.orReconciled = i > 0, i > 0
	}
	return p
}

// phoenixAhead is an order whose API is ahead of its one webhook: the
// webhook says pending, the API fulfilled, and the API wins.
func phoenixAhead(id string, api *phoenixAPI) entityPlan {
	p := lifecycle("phoenix-order:"+id, []string{"pending"}, func(i int, status string, at time.Time) delivery {
		return phoenixDelivery(id, i, status, at, func() { api.set(id, "fulfilled") })
	})
	p.final = "fulfilled"
	p.deliveries[0].want = expectation{from: "", to: "fulfilled", source: "api"}
	return p
}

// phoenixDelivery is Phoenix's webhook for order id in status, before
// setting its API.
func phoenixDelivery(id string, i int, status string, at time.Time, before func()) delivery {
	h := jsonHeader()
	h.Set("Authorization", "Bearer "+phoenixSecret)
	return delivery{
		provider: "phoenix", route: "/webhooks/phoenix", header: h,
		body: mustJSON(map[string]any{
			"event": "order.status.change", "id": fmt.Sprintf("evt-%s-%d", id, i),
			"timestamp": at.Format("2006-01-02T15:04:05.000Z"),
			"data":      map[string]any{"orderId": id, "orderStatus": status},
		}),
		before: before,
	}
}

func phosphorItem(id string, _ *phoenixAPI) entityPlan {
	return lifecycle("phosphor-item:"+id, []string{"MINT", "TRANSFER", "BURN"}, func(i int, status string, at time.Time) delivery {
		return phosphorTx(id, i, status, at)
	})
}

// phosphorTx is Phosphor's TOKEN_TX webhook, event i of item id, with
// tx_type status, stamped at.
func phosphorTx(id string, i int, status string, at time.Time) delivery {
	zero := "0x0000000000000000000000000000000000000000"
	parties := map[string][2]string{"MINT": {zero, "0xa1"}, "TRANSFER": {"0xa1", "0xb2"}, "BURN": {"0xb2", zero}}
	h := jsonHeader()
	h.Set("Phosphor-Webhook-Secret", phosphorSecret)
	return delivery{
		provider: "phosphor", route: "/webhooks/phosphor", header: h,
		body: mustJSON(map[string]any{
			"id": fmt.Sprintf("evt-%s-%d", id, i), "type": "TOKEN_TX",
			"data": map[string]any{
				"item": map[string]any{"id": id}, "tx_type": status,
				"tx_hash":   fmt.Sprintf("0x%064x", i+1),
				"from_addr": parties[status][0], "to_addr": parties[status][1],
				"contract_address": "0xde6afDD5bD30745542cDfabD001916A365Dc4c42", "token_id": "1", "quantity": "1",
				"block_number": fmt.Sprint(at.Unix()), "block_timestamp": at.Format(time.RFC3339),
			},
		}),
	}
}

func phosphorListing(id string, _ *phoenixAPI) entityPlan {
	return lifecycle("phosphor-listing:"+id, []string{"CREATED", "COMPLETED"}, func(_ int, status string, _ time.Time) delivery {
		h := jsonHeader()
		h.Set("Phosphor-Webhook-Secret", phosphorSecret)
		return delivery{
			provider: "phosphor", route: "/webhooks/phosphor", header: h,
			body: mustJSON(map[string]any{
				"type": status, "listing": map[string]any{"id": id, "price": "1", "currency": "ETH"},
			}),
		}
	})
}

func up42Order(id string, _ *phoenixAPI) entityPlan {
	return lifecycle("up42-order:"+id, []string{"PLACED", "BEING_FULFILLED", "FULFILLED"}, func(i int, status string, at time.Time) delivery {
		body := mustJSON(map[string]any{
			"id": fmt.Sprintf("evt-%s-%d", id, i), "event": "order.status",
			"timestamp": at.Format("2006-01-02T15:04:05.000Z"),
			"data":      map[string]any{"orderId": id, "status": status},
		})
		h := jsonHeader()
		h.Set("X-Up42-Signature", hex.EncodeToString(hmacSHA256(up42Secret, body)))
		return delivery{provider: "up42", route: "/webhooks/up42", header: h, body: body}
	})
}

func fenixShipment(id string, _ *phoenixAPI) entityPlan {
	statuses := []string{"LABEL_CREATED", "PICKED_BY_CARRIER", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"}
	return lifecycle("fenix-shipment:"+id, statuses, func(i int, status string, at time.Time) delivery {
		body := mustJSON(map[string]any{
			"store_name": "e2e.myshopify.com", "tracking_number": id, "carrier": "FEDEX",
			"status": status, "event_time": at.Format(time.RFC3339),
		})
		h := jsonHeader()
		h.Set("X-Fenix-Hmac-Sha256", base64.StdEncoding.EncodeToString(hmacSHA256(fenixSecret, body)))
		h.Set("X-Fenix-Topic", "tracking/updated")
		h.Set("X-Fenix-Event-Id", fmt.Sprintf("evt-%s-%d", id, i))
		h.Set("X-Fenix-Webhook-Id", "e2e-webhook")
		h.Set("X-Fenix-Triggered-Dttm", at.Format(time.RFC3339))
		return delivery{provider: "fenix", route: "/webhooks/fenix", header: h, body: body}
	})
}

func phantomTransaction(id string, _ *phoenixAPI) entityPlan {
	statuses := []string{"pool.added", "forged", "applied"}
	return lifecycle("phantom-transaction:"+id, statuses, func(_ int, status string, at time.Time) delivery {
		h := jsonHeader()
		h.Set("Authorization", phantomToken[:len(phantomToken)/2])
		return delivery{
			provider: "phantom", route: "/webhooks/phantom", header: h,
			body: mustJSON(map[string]any{
				"timestamp": at.Unix(), "event": "transaction." + status, "data": map[string]any{"id": id},
			}),
		}
	})
}

// deliveriesOf flattens plans, in order within each entity.
func deliveriesOf(plans []entityPlan) int {
	n := 0
	for _, p := range plans {
		n += len(p.deliveries)
	}
	return n
}

// entityOf is the entity ID of a workflow ID (after the first colon).
func entityOf(workflowID string) string {
	_, id, _ := strings.Cut(workflowID, ":")
	return id
}
