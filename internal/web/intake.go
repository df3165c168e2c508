package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/workflows"
	"go.temporal.io/api/serviceerror"
)

// Intake limits.
const (
	MaxBatch      = 1000    // leads in one POST /api/v1/leads
	MaxBatchBody  = 8 << 20 // body of a batch; a single lead stays within MaxBody
	MaxEventBody  = 16 << 10
	batchParallel = 8 // leads of one batch delivered at once
)

// BatchItem is the result of one lead of a batch.
type BatchItem struct {
	Index  int                 `json:"index"`
	Status int                 `json:"status"` // 202 delivered, 400 invalid, 500/503 failed
	Result string              `json:"result"` // new, duplicate, pending, error
	ID     string              `json:"id,omitempty"`
	State  domain.LeadState    `json:"state,omitempty"`
	Title  string              `json:"title,omitempty"`
	Errors []domain.FieldError `json:"errors,omitempty"`
}

// BatchResult answers a batch with 207 Multi-Status.
type BatchResult struct {
	Total     int         `json:"total"`
	New       int         `json:"new"`
	Duplicate int         `json:"duplicate"`
	Pending   int         `json:"pending"`
	Failed    int         `json:"failed"`
	Items     []BatchItem `json:"items"`
}

func isJSON(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return ct == "" || strings.HasPrefix(ct, "application/json")
}

// postLeads takes one lead (a JSON object) or a batch (a JSON array of up to
// MaxBatch objects) from an authenticated source.
func (s *Server) postLeads(w http.ResponseWriter, r *http.Request) {
	if !isJSON(r) {
		writeProblem(w, problem{Title: "Unsupported media type", Status: http.StatusUnsupportedMediaType, Detail: "send application/json"})
		return
	}
	src, body, ok := s.authenticate(w, r, MaxBatchBody)
	if !ok {
		return
	}
	batch := bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("["))
	if !batch && len(body) > MaxBody {
		writeProblem(w, problem{Title: "Body too large", Status: http.StatusRequestEntityTooLarge, Detail: "a single lead is at most 1 MiB"})
		return
	}
	idem := r.Header.Get("Idempotency-Key")
	if len(idem) > 200 {
		writeProblem(w, problem{Title: "Idempotency-Key too long", Status: http.StatusBadRequest, Detail: "at most 200 characters"})
		return
	}
	if idem != "" {
		prev, err := s.Store.ClaimIdempotencyKey(r.Context(), src.Name, idem, body)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		switch {
		case prev != nil && !prev.Same:
			writeProblem(w, problem{Type: "https://baton.dev/problems/idempotency-key-reused", Title: "Idempotency-Key reused", Status: http.StatusUnprocessableEntity,
				Detail: "this Idempotency-Key was used for a different body; use a new key for a new request"})
			return
		case prev != nil && prev.Status == 0:
			w.Header().Set("Retry-After", "1")
			writeProblem(w, problem{Title: "The first request with this Idempotency-Key is still running", Status: http.StatusConflict, Detail: "retry in a moment"})
			return
		case prev != nil:
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(prev.Status)
			w.Write(prev.Body) //nolint:errcheck
			return
		}
	}
	rec := &recorder{header: http.Header{}}
	if batch {
		s.leadBatch(rec, r, src.Name, idem, body)
	} else {
		s.oneLead(rec, r, src.Name, idem, body)
	}
	if idem != "" {
		// A 5xx is not kept: the retry runs again (and Update-with-Start
		// keeps it one lead).
		var err error
		if rec.status >= 500 {
			err = s.Store.ReleaseIdempotencyKey(context.WithoutCancel(r.Context()), src.Name, idem)
		} else {
			err = s.Store.SaveIdempotent(context.WithoutCancel(r.Context()), src.Name, idem, rec.status, rec.body.Bytes())
		}
		if err != nil {
			s.Log.Error("idempotency key", "source", src.Name, "error", err)
		}
	}
	rec.writeTo(w)
}

// recorder keeps an answer so it can be stored with its Idempotency-Key.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rr *recorder) Header() http.Header { return rr.header }
func (rr *recorder) WriteHeader(code int) {
	if rr.status == 0 {
		rr.status = code
	}
}
func (rr *recorder) Write(b []byte) (int, error) {
	rr.WriteHeader(http.StatusOK)
	return rr.body.Write(b)
}
func (rr *recorder) writeTo(w http.ResponseWriter) {
	for k, v := range rr.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rr.status)
	w.Write(rr.body.Bytes()) //nolint:errcheck
}

// decodeLead decodes one lead strictly. Text that no field may hold (a
// control character, a bidirectional control, invalid UTF-8) is refused as
// domain.FieldErrors naming each field; any other error is a body that is
// not a lead.
func decodeLead(raw []byte) (domain.LeadRequest, error) {
	var req domain.LeadRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, err
	}
	if dec.More() {
		return req, errors.New("more than one JSON value: send one lead, or an array of leads")
	}
	if fe := rawTextErrors(raw); fe != nil {
		return req, fe.Err()
	}
	return req, req.CheckText()
}

func (s *Server) oneLead(w http.ResponseWriter, r *http.Request, source, idem string, body []byte) {
	req, err := decodeLead(body)
	var fe domain.FieldErrors
	if errors.As(err, &fe) {
		writeProblem(w, problem{Type: "https://baton.dev/problems/validation", Title: "The request has invalid fields", Status: http.StatusBadRequest,
			Detail: fe.Error(), Errors: fe})
		return
	}
	if err != nil {
		writeProblem(w, problem{Type: "https://baton.dev/problems/validation", Title: "The body is not a lead", Status: http.StatusBadRequest,
			Detail: err.Error(), Errors: jsonFieldError(err)})
		return
	}
	if req.Source == "" {
		req.Source = source
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if preferAsync(r) {
		ctx = intake.WithRespondAsync(ctx)
		w.Header().Set("Preference-Applied", "respond-async")
	}
	res, err := s.Intake.Submit(ctx, req, idem)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.Log.Info("lead received", "source", source, "lead", res.LeadID, "workflow", workflows.LeadWorkflowID(res.LeadID), "new", res.New)
	w.Header().Set("Location", "/api/v1/leads/"+res.LeadID)
	writeJSON(w, http.StatusAccepted, res)
}

func (s *Server) leadBatch(w http.ResponseWriter, r *http.Request, source, idem string, body []byte) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		writeProblem(w, problem{Type: "https://baton.dev/problems/validation", Title: "The body is not an array of leads", Status: http.StatusBadRequest, Detail: err.Error()})
		return
	}
	if len(raws) == 0 || len(raws) > MaxBatch {
		writeProblem(w, problem{Type: "https://baton.dev/problems/validation", Title: "Batch size out of range", Status: http.StatusBadRequest,
			Detail: fmt.Sprintf("a batch holds 1 to %d leads; this one has %d", MaxBatch, len(raws))})
		return
	}
	items := make([]BatchItem, len(raws))
	// Items for the same email are delivered in order (the first is the new
	// lead, the rest touches); different leads in parallel.
	type job struct {
		i   int
		req domain.LeadRequest
		key string
	}
	groups := map[string][]job{}
	var order []string
	// The whole batch is checked before anything is written: one item with
	// text no field may hold refuses the batch (400), so a retry cannot add a
	// touch to its good items again and again.
	var hostile domain.FieldErrors
	for i, raw := range raws {
		var fe domain.FieldErrors
		if _, err := decodeLead(raw); errors.As(err, &fe) {
			prefixed(i, fe, &hostile)
		}
	}
	if len(hostile) > 0 {
		writeProblem(w, problem{Type: "https://baton.dev/problems/validation", Title: "The batch has items with invalid text; nothing was written",
			Status: http.StatusBadRequest, Detail: hostile.Error(), Errors: hostile})
		return
	}
	for i, raw := range raws {
		items[i] = BatchItem{Index: i}
		req, err := decodeLead(raw)
		if err != nil {
			items[i].Status, items[i].Result, items[i].Title = http.StatusBadRequest, "error", "not a lead: "+err.Error()
			items[i].Errors = jsonFieldError(err)
			continue
		}
		if req.Source == "" {
			req.Source = source
		}
		key := ""
		if idem != "" {
			key = idem + "#" + strconv.Itoa(i)
		}
		g := strings.ToLower(strings.TrimSpace(req.Email))
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], job{i, req, key})
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, batchParallel)
	ctx, cancel := context.WithTimeout(r.Context(), 50*time.Second)
	defer cancel()
	if preferAsync(r) {
		ctx = intake.WithRespondAsync(ctx)
		w.Header().Set("Preference-Applied", "respond-async")
	}
	for _, g := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(jobs []job) {
			defer func() { <-sem; wg.Done() }()
			for _, j := range jobs {
				s.batchOne(ctx, r, &items[j.i], j.req, j.key)
			}
		}(groups[g])
	}
	wg.Wait()
	out := BatchResult{Total: len(items), Items: items}
	for _, it := range items {
		switch it.Result {
		case "new":
			out.New++
		case "duplicate":
			out.Duplicate++
		case "pending":
			out.Pending++
		default:
			out.Failed++
		}
	}
	status := http.StatusMultiStatus
	for _, it := range items {
		if it.Status >= 500 {
			status = http.StatusServiceUnavailable // not stored: a retry with the same key runs again
			w.Header().Set("Retry-After", "5")
		}
	}
	s.Log.Info("lead batch received", "source", source, "total", out.Total, "new", out.New, "duplicate", out.Duplicate, "failed", out.Failed)
	writeJSON(w, status, out)
}

func (s *Server) batchOne(ctx context.Context, r *http.Request, it *BatchItem, req domain.LeadRequest, key string) {
	res, err := s.Intake.Submit(ctx, req, key)
	var fe domain.FieldErrors
	switch {
	case errors.As(err, &fe):
		it.Status, it.Result, it.Title, it.Errors = http.StatusBadRequest, "error", "invalid fields", fe
	case err != nil:
		s.Log.Error("batch item failed", "index", it.Index, "error", err)
		it.Status, it.Result, it.Title = http.StatusServiceUnavailable, "error", "not delivered; retry"
	default:
		it.Status, it.ID, it.State = http.StatusAccepted, res.LeadID, res.State
		switch {
		case res.Pending:
			it.Result = "pending"
		case res.New:
			it.Result = "new"
		default:
			it.Result = "duplicate"
		}
	}
	_ = r
}

// EventRequest is an engagement event as a source posts it.
type EventRequest struct {
	ID     string     `json:"id"`
	Type   string     `json:"type"`
	Points *int       `json:"points,omitempty"`
	At     *time.Time `json:"at,omitempty"`
}

var eventIDRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

// EventResult answers an engagement event.
type EventResult struct {
	LeadID    string `json:"lead_id"`
	EventID   string `json:"event_id"`
	Points    int    `json:"points"`
	Duplicate bool   `json:"duplicate"`
	// Applied is false when the lead's workflow has ended: the event is kept
	// but changes no score.
	Applied bool `json:"applied"`
}

func (e EventRequest) validate(now time.Time) (workflows.EngagementEvent, error) {
	var fe domain.FieldErrors
	if !eventIDRe.MatchString(e.ID) {
		fe.Add("id", "%q is not an event id (1–100 letters, digits and . _ : -); a retried event must reuse it", e.ID)
	}
	def, known := domain.EngagementTypes[e.Type]
	if !known {
		names := make([]string, 0, len(domain.EngagementTypes))
		for n := range domain.EngagementTypes {
			names = append(names, n)
		}
		sort.Strings(names)
		fe.Add("type", "%q is not one of %s", e.Type, strings.Join(names, ", "))
	}
	points := def
	if e.Points != nil {
		points = *e.Points
		if points < -100 || points > 100 {
			fe.Add("points", "%d is outside -100..100", points)
		}
	}
	at := now.UTC()
	if e.At != nil {
		at = e.At.UTC()
		if at.After(now.Add(5 * time.Minute)) {
			fe.Add("at", "%s is in the future", at.Format(time.RFC3339))
		}
	}
	return workflows.EngagementEvent{ID: e.ID, Type: e.Type, Points: points, At: at}, fe.Err()
}

// postEvent takes an engagement event for a lead: it is signalled to the
// lead's workflow (which ignores an event id it has seen) and stored.
func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) {
	if !isJSON(r) {
		writeProblem(w, problem{Title: "Unsupported media type", Status: http.StatusUnsupportedMediaType, Detail: "send application/json"})
		return
	}
	src, body, ok := s.authenticate(w, r, MaxEventBody)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if !domain.ValidLeadID(id) {
		writeProblem(w, problem{Title: "Not a lead id", Status: http.StatusBadRequest, Detail: strconv.Quote(id) + " is not a lead id such as ld_…"})
		return
	}
	var req EventRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeProblem(w, problem{Type: "https://baton.dev/problems/validation", Title: "The body is not an event", Status: http.StatusBadRequest,
			Detail: err.Error(), Errors: jsonFieldError(err)})
		return
	}
	fe := rawTextErrors(body)
	fe.CheckText("id", req.ID)
	fe.CheckText("type", req.Type)
	if err := fe.Err(); err != nil {
		s.apiError(w, r, err)
		return
	}
	ev, err := req.validate(s.Now())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	ev.Source = src.Name
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	// A lead posted a moment ago may be in Temporal only: its workflow takes
	// the event (after the first touch, in its first task) as for any lead.
	if _, err := s.leadOrPending(ctx, id); err != nil {
		s.apiError(w, r, err)
		return
	}
	res := EventResult{LeadID: id, EventID: ev.ID, Points: ev.Points, Applied: true}
	if n, err := s.Store.HasEngagement(ctx, id, ev.ID); err != nil {
		s.apiError(w, r, err)
		return
	} else if n {
		res.Duplicate = true
		writeJSON(w, http.StatusOK, res)
		return
	}
	// Signal first, then store: a retry after a failed insert signals again,
	// and the workflow ignores the event id the second time.
	err = s.Temporal.SignalWorkflow(ctx, workflows.LeadWorkflowID(id), "", workflows.SignalEngagement, ev)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		res.Applied = false
	} else if err != nil {
		s.apiError(w, r, fmt.Errorf("signal lead %s: %w", id, err))
		return
	}
	if _, err := s.Store.RecordEngagement(ctx, storeEngagement(id, src.Name, ev)); err != nil {
		s.apiError(w, r, err)
		return
	}
	s.Log.Info("engagement received", "source", src.Name, "lead", id, "workflow", workflows.LeadWorkflowID(id), "event", ev.ID, "applied", res.Applied)
	writeJSON(w, http.StatusAccepted, res)
}

// getLeadAuth is GET /api/v1/leads/{id} for an authenticated source.
func (s *Server) getLeadAuth(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.authenticate(w, r, 1<<10); !ok {
		return
	}
	s.getLead(w, r)
}

func storeEngagement(leadID, source string, ev workflows.EngagementEvent) store.Engagement {
	return store.Engagement{LeadID: leadID, EventID: ev.ID, Source: source, Type: ev.Type, Points: ev.Points, At: ev.At}
}
