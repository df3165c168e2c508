package workflows

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
)

// fakeStore is an in-memory Store with the same idempotency rules as the
// PostgreSQL one, so the real activities run inside workflow tests.
type fakeStore struct {
	mu       sync.Mutex
	campaign domain.CampaignInfo
	reps     []domain.PersonRef
	manager  domain.PersonRef
	lead     domain.LeadSnapshot
	events   []domain.Event
	eventKey map[string]bool
	assigned map[string]domain.Assignment
	last     string
	erased   []string
	// priorMisses stands for misses on other leads.
	priorMisses int
}

func newFakeStore(window time.Duration, reps ...string) *fakeStore {
	s := &fakeStore{
		campaign: domain.CampaignInfo{ID: "webinar-q3", Name: "Webinar Q3", TeamID: "emea", Status: "live",
			AcceptWindow: window, Owner: domain.PersonRef{ID: "mo", Name: "Mo Marketer", Email: "mo@example.com"}},
		manager:  domain.PersonRef{ID: "max", Name: "Max Manager", Email: "max@example.com", TimeZone: "Europe/Berlin"},
		eventKey: map[string]bool{}, assigned: map[string]domain.Assignment{},
	}
	for _, r := range reps {
		s.reps = append(s.reps, domain.PersonRef{ID: r, Name: strings.ToUpper(r[:1]) + r[1:], Email: r + "@example.com", TimeZone: "Europe/Berlin"})
	}
	return s
}

func (s *fakeStore) Campaign(_ context.Context, id string) (domain.CampaignInfo, error) {
	if id != s.campaign.ID {
		return domain.CampaignInfo{}, fmt.Errorf("campaign %s: %w", id, domain.ErrNotFound)
	}
	return s.campaign, nil
}

func (s *fakeStore) Record(_ context.Context, l domain.LeadSnapshot, ev domain.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.Version > s.lead.Version {
		s.lead = l
	}
	if !s.eventKey[ev.Key] {
		s.eventKey[ev.Key] = true
		s.events = append(s.events, ev)
	}
	return nil
}

func (s *fakeStore) Assign(_ context.Context, leadID string, attempt int, teamID string, exclude []string) (domain.Assignment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := fmt.Sprint(leadID, attempt)
	if a, ok := s.assigned[key]; ok {
		return a, nil
	}
	ex := map[string]bool{}
	for _, e := range exclude {
		ex[e] = true
	}
	var cands []domain.Candidate
	for _, r := range s.reps {
		cands = append(cands, domain.Candidate{ID: r.ID, Active: true})
	}
	id := domain.NextInRotation(cands, s.last, ex)
	if id == "" {
		return domain.Assignment{}, fmt.Errorf("no eligible rep: %w", domain.ErrNotFound)
	}
	s.last = id
	a := domain.Assignment{LeadID: leadID, Attempt: attempt, TeamID: teamID, Manager: s.manager}
	for _, r := range s.reps {
		if r.ID == id {
			a.Rep = r
		}
	}
	s.assigned[key] = a
	return a, nil
}

func (s *fakeStore) AssignTo(_ context.Context, leadID string, attempt int, teamID, repID string) (domain.Assignment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := fmt.Sprint(leadID, attempt)
	if a, ok := s.assigned[key]; ok {
		return a, nil
	}
	for _, r := range append(append([]domain.PersonRef(nil), s.reps...), s.manager) {
		if r.ID == repID {
			a := domain.Assignment{LeadID: leadID, Attempt: attempt, TeamID: teamID, Manager: s.manager, Rep: r}
			s.assigned[key] = a
			return a, nil
		}
	}
	return domain.Assignment{}, fmt.Errorf("%s is not a rep: %w", repID, domain.ErrNotFound)
}

func (s *fakeStore) Erase(_ context.Context, leadID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.erased = append(s.erased, leadID)
	return nil
}

func (s *fakeStore) RepMisses(_ context.Context, repID string, since time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.priorMisses
	for _, e := range s.events {
		if (e.Kind == "lapsed" || e.Kind == "breached") && e.Data["rep"] == repID && !e.At.Before(since) {
			n++
		}
	}
	return n, nil
}

func (s *fakeStore) TeamManager(context.Context, string) (domain.PersonRef, error) {
	return s.manager, nil
}

func (s *fakeStore) kinds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := append([]domain.Event(nil), s.events...)
	sort.SliceStable(evs, func(i, j int) bool {
		return evs[i].At.Before(evs[j].At) || evs[i].At.Equal(evs[j].At) && evs[i].Seq < evs[j].Seq
	})
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

type fakeMailer struct {
	mu   sync.Mutex
	sent []store.Message
	keys map[string]bool
}

func (m *fakeMailer) Deliver(_ context.Context, msg store.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = map[string]bool{}
	}
	if !m.keys[msg.Key] {
		m.keys[msg.Key] = true
		msg.SentAt = time.Now()
		m.sent = append(m.sent, msg)
	}
	return nil
}

func (m *fakeMailer) to(email string) []store.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Message
	for _, s := range m.sent {
		if s.To == email {
			out = append(out, s)
		}
	}
	return out
}

func newActivities(s *fakeStore, m *fakeMailer) *activities.Activities {
	signer, _ := token.NewSigner([]byte(strings.Repeat("t", 32)))
	return &activities.Activities{Store: s, Mailer: m, Signer: signer, PublicURL: "http://baton.test",
		From: "Baton <baton@example.com>", LinkTTL: 72 * time.Hour}
}

func (s *fakeStore) LeadVersion(_ context.Context, id string) (int64, int, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lead.ID != id {
		return 0, 0, false, nil
	}
	return s.lead.Version, s.lead.Attempt, true, nil
}

// TeamPeople is the team's active reps and its manager.
func (s *fakeStore) TeamPeople(context.Context, string) ([]domain.PersonRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(append([]domain.PersonRef(nil), s.reps...), s.manager), nil
}
