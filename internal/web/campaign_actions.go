package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/workflows"
)

// campaignRoutes are the reviewers' one-click sign-off links: GET shows a
// confirm page and changes nothing (mail scanners prefetch links); POST,
// with the CSRF cookie and field, sends the Update the workflow validates.
func (s *Server) campaignRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /c/{token}", s.campaignConfirm)
	mux.HandleFunc("POST /c/{token}", s.campaignAction)
}

var campaignWords = map[string]struct{ Title, Button, Done, DoneText string }{
	activities.ActionCampaignApprove: {"Approve the plan?", "Approve the plan", "Plan approved",
		"Thank you. The campaign goes live once the quorum of reviewers has approved, at its start date."},
	activities.ActionCampaignChanges: {"Request changes to the plan?", "Request changes", "Changes requested",
		"The owner was told. When they revise the plan you get a new request; your comment stays with it."},
}

// verifyCampaign checks a /c/ token and its action.
func (s *Server) verifyCampaign(w http.ResponseWriter, r *http.Request) (token.Claims, bool) {
	c, ok := s.verify(w, r, "")
	if ok {
		if _, known := campaignWords[c.Action]; !known {
			s.message(w, http.StatusForbidden, "This link cannot be used", "This link is not a campaign sign-off. Nothing was changed.")
			return c, false
		}
	}
	return c, ok
}

func (s *Server) queryCampaign(ctx context.Context, id string) (workflows.CampaignView, error) {
	var v workflows.CampaignView
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := s.Temporal.QueryWorkflow(ctx, workflows.CampaignWorkflowID(id), "", workflows.QueryCampaign)
	if err == nil {
		err = res.Get(&v)
	}
	return v, err
}

func (s *Server) campaignConfirm(w http.ResponseWriter, r *http.Request) {
	c, ok := s.verifyCampaign(w, r)
	if !ok {
		return
	}
	v, err := s.queryCampaign(r.Context(), c.Lead)
	if err != nil {
		s.message(w, http.StatusConflict, "This campaign is not in review", "Its sign-off has finished. Nothing was changed.")
		return
	}
	// Explain a stale link before showing a form the workflow would refuse.
	switch {
	case v.Phase != workflows.PhaseReview:
		s.message(w, http.StatusConflict, "This plan is not in review", "Its sign-off has finished (the campaign is "+v.Phase+"). Nothing was changed.")
		return
	case c.Attempt != v.Round:
		s.message(w, http.StatusConflict, "This plan was revised", fmt.Sprintf(
			"This request was for revision %d; the plan is on revision %d now. Answer the newest request in your email. Nothing was changed.", c.Attempt, v.Round))
		return
	}
	plan, err := s.Store.CampaignSpec(r.Context(), c.Lead)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	i := slices.IndexFunc(v.Reviewers, func(rs domain.ReviewerStatus) bool { return rs.Reviewer.ID == c.Actor })
	if i < 0 {
		i = slices.IndexFunc(plan.Spec.Reviewers, func(p domain.Person) bool { return p.ID == c.Actor })
		if i < 0 {
			s.message(w, http.StatusForbidden, "This link cannot be used", "You are not a reviewer of this plan. Nothing was changed.")
			return
		}
	}
	var reviewer domain.Person
	for _, p := range plan.Spec.Reviewers {
		if p.ID == c.Actor {
			reviewer = p
		}
	}
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails on Linux
	csrf := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: csrf, Path: "/c/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 3600})
	words := campaignWords[c.Action]
	deadline := v.Deadline
	s.render(w, http.StatusOK, "campaign-confirm.html", map[string]any{"View": v, "Plan": plan.Spec, "Reviewer": reviewer,
		"CSRF": csrf, "Action": r.URL.Path, "Kind": c.Action, "Title": words.Title, "Button": words.Button,
		"Deadline": &deadline, "MinRate": domain.Pct(plan.Spec.Commitments.MinAcceptanceRate)})
}

func (s *Server) campaignAction(w http.ResponseWriter, r *http.Request) {
	c, ok := s.verifyCampaign(w, r)
	if !ok {
		return
	}
	ck, err := r.Cookie(csrfCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		s.message(w, http.StatusForbidden, "Please confirm again",
			"This form expired or was not sent from Baton's page. Nothing was changed. Open the link from your email again.")
		return
	}
	in := workflows.CampaignReviewInput{ReviewerID: c.Actor, Round: c.Attempt, Verdict: workflows.VerdictApprove}
	if c.Action == activities.ActionCampaignChanges {
		in.Verdict, in.Comment = workflows.VerdictChanges, strings.TrimSpace(r.PostFormValue("comment"))
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	err = s.runUpdate(ctx, workflows.CampaignWorkflowID(c.Lead), workflows.UpdateCampaignReview, in)
	words := campaignWords[c.Action]
	if !s.explainUpdate(w, err, words.Done, words.DoneText) {
		s.Log.Error("campaign action failed", "action", c.Action, "campaign", c.Lead, "actor", c.Actor, "error", err)
		s.message(w, http.StatusConflict, "Nothing was changed", "This campaign's sign-off is not open any more, or Baton cannot reach it right now.")
	}
}
