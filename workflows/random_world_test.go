package workflows

// The randomized schedules' world: an in-memory store, directory and mailer
// that keep the same idempotency rules as PostgreSQL and SendGrid, inject
// faults on the schedule's command (slow store, mail outage, refusals), and
// report what no fake should ever see (a business key reused with another
// meaning, personal data written after an erasure).

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
	"go.temporal.io/sdk/temporal"
)

// rndRep is one person of the directory.
type rndRep struct {
	ref    domain.PersonRef
	active bool
	cap    int // open leads the rep may hold; zero: no cap
	open   int // open leads the rep holds elsewhere
}

// rndEvent is one Record call as the store saw it.
type rndEvent struct {
	life int
	ev   domain.Event
	lead domain.LeadSnapshot
	dup  bool // the key was already stored (a retry, or a collision)
}

// rndMail is one delivered message.
type rndMail struct {
	life int
	msg  store.Message
}

// rndWorld is the store, the directory and the mailer of one seed.
type rndWorld struct {
	mu  sync.Mutex
	now func() time.Time // the test environment's clock

	campaigns map[string]domain.CampaignInfo
	reps      []*rndRep
	manager   domain.PersonRef
	leader    domain.PersonRef

	life     int // which life of the lead runs now (a new one after retention)
	row      domain.LeadSnapshot
	rowLife  int
	events   []rndEvent
	byKey    map[string]rndEvent
	assigned map[string]domain.Assignment
	last     string
	erased   bool
	erasedAt time.Time

	mails    []rndMail
	ledger   map[string]store.Message
	refusals []string // keys of refused messages

	// Faults, set by the schedule from the main loop.
	mailDown   time.Time       // retryable failures until this instant
	refuseTo   map[string]bool // non-retryable refusals for these addresses
	mailDelay  time.Duration   // every Notify takes this long
	slowStore  time.Duration   // every Record takes this long
	eraseDelay time.Duration   // the purge takes this long more

	violations []string
}

func (w *rndWorld) violate(format string, args ...any) {
	w.violations = append(w.violations, fmt.Sprintf(format, args...))
}

func newRndWorld() *rndWorld {
	return &rndWorld{campaigns: map[string]domain.CampaignInfo{}, byKey: map[string]rndEvent{},
		assigned: map[string]domain.Assignment{}, ledger: map[string]store.Message{}, refuseTo: map[string]bool{}}
}

func (w *rndWorld) rep(id string) (domain.PersonRef, bool) {
	for _, r := range w.reps {
		if r.ref.ID == id {
			return r.ref, true
		}
	}
	if id == w.manager.ID {
		return w.manager, true
	}
	if id == w.leader.ID && id != "" {
		return w.leader, true
	}
	return domain.PersonRef{}, false
}

// --- activities.Store ---

func (w *rndWorld) Campaign(_ context.Context, id string) (domain.CampaignInfo, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.campaigns[id]
	if !ok {
		return c, fmt.Errorf("campaign %s: %w", id, domain.ErrNotFound)
	}
	return c, nil
}

func hasPII(l domain.LeadSnapshot) bool {
	return l.Name != "" || l.Company != "" || l.Country != "" || l.Region != "" || l.Industry != "" || l.CompanySize != "" || l.Phone != "" ||
		(l.Email != "" && l.Email != domain.ErasedEmail(l.ID))
}

func (w *rndWorld) Record(_ context.Context, l domain.LeadSnapshot, ev domain.Event) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	prev, dup := w.byKey[ev.Key]
	if dup && (prev.ev.Kind != ev.Kind || !prev.ev.At.Equal(ev.At)) {
		w.violate("event-key: %q reused: %s at %s (life %d), then %s at %s (life %d)", ev.Key,
			prev.ev.Kind, rndStamp(prev.ev.At), prev.life, ev.Kind, rndStamp(ev.At), w.life)
	}
	w.events = append(w.events, rndEvent{life: w.life, ev: ev, lead: l, dup: dup})
	if !dup {
		w.byKey[ev.Key] = rndEvent{life: w.life, ev: ev, lead: l}
	}
	if w.erased && w.rowLife == w.life && hasPII(l) {
		w.violate("erasure: personal data written after the erasure: %s event %q carries name=%q company=%q country=%q email=%q",
			rndStamp(ev.At), ev.Kind, l.Name, l.Company, l.Country, l.Email)
	}
	if w.rowLife != w.life || l.Version > w.row.Version {
		w.row, w.rowLife = l, w.life
	}
	return nil
}

func (w *rndWorld) pick(leadID string, attempt int, teamID string, pickFn func() (domain.PersonRef, error)) (domain.Assignment, error) {
	key := fmt.Sprintf("%d:%s:%d", w.life, leadID, attempt)
	if a, ok := w.assigned[key]; ok {
		return a, nil
	}
	r, err := pickFn()
	if err != nil {
		return domain.Assignment{}, err
	}
	a := domain.Assignment{LeadID: leadID, Attempt: attempt, TeamID: teamID, Manager: w.manager, Rep: r}
	w.assigned[key] = a
	return a, nil
}

func (w *rndWorld) Assign(_ context.Context, leadID string, attempt int, teamID string, exclude []string) (domain.Assignment, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pick(leadID, attempt, teamID, func() (domain.PersonRef, error) {
		ex := map[string]bool{}
		for _, e := range exclude {
			ex[e] = true
		}
		var cands []domain.Candidate
		for _, r := range w.reps {
			full := r.cap > 0 && r.open >= r.cap // routing never offers past a cap
			cands = append(cands, domain.Candidate{ID: r.ref.ID, Active: r.active && !full})
		}
		id := domain.NextInRotation(cands, w.last, ex)
		if id == "" {
			return domain.PersonRef{}, fmt.Errorf("no eligible rep in team %s: %w", teamID, domain.ErrNotFound)
		}
		w.last = id
		r, _ := w.rep(id)
		return r, nil
	})
}

func (w *rndWorld) AssignTo(_ context.Context, leadID string, attempt int, teamID, repID string) (domain.Assignment, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pick(leadID, attempt, teamID, func() (domain.PersonRef, error) {
		for _, r := range w.reps {
			if r.ref.ID == repID && r.active {
				return r.ref, nil
			}
		}
		if repID == w.manager.ID {
			return w.manager, nil
		}
		return domain.PersonRef{}, fmt.Errorf("%s is not an active rep of team %s: %w", repID, teamID, domain.ErrNotFound)
	})
}

func (w *rndWorld) Erase(_ context.Context, leadID string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.erased {
		w.erased, w.erasedAt = true, w.now()
	}
	w.row.Name, w.row.Company, w.row.Country, w.row.Region, w.row.Industry, w.row.CompanySize = "", "", "", "", "", ""
	w.row.Email = domain.ErasedEmail(leadID)
	return nil
}

func (w *rndWorld) RepMisses(_ context.Context, repID string, since time.Time) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, e := range w.events {
		if !e.dup && (e.ev.Kind == "lapsed" || e.ev.Kind == "breached") && e.ev.Data["rep"] == repID && !e.ev.At.Before(since) {
			n++
		}
	}
	return n, nil
}

func (w *rndWorld) TeamManager(context.Context, string) (domain.PersonRef, error) {
	return w.manager, nil
}

// --- mail.Mailer ---

func (w *rndWorld) Deliver(_ context.Context, m store.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if now.Before(w.mailDown) {
		wait := w.mailDown.Sub(now) + time.Second
		if wait > 15*time.Minute {
			wait = 15 * time.Minute
		}
		return temporal.NewApplicationErrorWithOptions("fake sendgrid: 503 outage", mail.ErrUnconfirmed,
			temporal.ApplicationErrorOptions{NextRetryDelay: wait})
	}
	if w.refuseTo[m.To] {
		w.refusals = append(w.refusals, m.Key)
		return temporal.NewNonRetryableApplicationError("fake sendgrid: 400 invalid recipient "+m.To, mail.ErrRejected, nil)
	}
	if prev, ok := w.ledger[m.Key]; ok {
		if prev.Kind != m.Kind || prev.To != m.To || prev.Subject != m.Subject {
			w.violate("mail-key: %q reused: %s to %s %q, then %s to %s %q (life %d): the second is never sent",
				m.Key, prev.Kind, prev.To, prev.Subject, m.Kind, m.To, m.Subject, w.life)
		}
		return nil
	}
	m.SentAt = now
	w.ledger[m.Key] = m
	w.mails = append(w.mails, rndMail{life: w.life, msg: m})
	return nil
}

// lifeEvents are the events one life stored (first writes only), in the
// order the workflow made them.
func (w *rndWorld) lifeEvents(life int) []rndEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []rndEvent
	for _, e := range w.events {
		if e.life == life && !e.dup {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ev.Seq < out[j].ev.Seq })
	return out
}

func rndStamp(t time.Time) string { return t.UTC().Format("Mon 02 Jan 15:04:05") }

func rndActivities(w *rndWorld) *activities.Activities {
	signer, _ := token.NewSigner([]byte(strings.Repeat("t", 32)))
	return &activities.Activities{Store: w, Mailer: w, Signer: signer, PublicURL: "http://baton.test",
		From: "Baton <baton@example.com>", LinkTTL: 72 * time.Hour}
}

func (w *rndWorld) LeadVersion(_ context.Context, id string) (int64, int, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.row.ID != id {
		return 0, 0, false, nil
	}
	return w.row.Version, w.row.Attempt, true, nil
}

// TeamPeople is who routing can assign: the active reps and the manager.
func (w *rndWorld) TeamPeople(context.Context, string) ([]domain.PersonRef, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []domain.PersonRef
	for _, r := range w.reps {
		if r.active {
			out = append(out, r.ref)
		}
	}
	return append(out, w.manager), nil
}
