package domain

// EngagementTypes are the engagement events a source may report, with the
// points each adds when the source gives none.
var EngagementTypes = map[string]int{
	"page_view":        1,
	"email_open":       1,
	"email_click":      3,
	"content_download": 5,
	"form_submit":      10,
	"webinar_attended": 15,
	"demo_request":     30,
}
