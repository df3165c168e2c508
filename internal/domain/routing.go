package domain

import "sort"

// Candidate is a rep that routing may pick.
type Candidate struct {
	ID     string
	Active bool
}

// NextInRotation picks the rep after last in a stable (id-sorted) rotation,
// skipping inactive reps and those in exclude (reps who already had the lead).
// It returns "" when nobody is eligible.
func NextInRotation(reps []Candidate, last string, exclude map[string]bool) string {
	ids := make([]string, 0, len(reps))
	for _, r := range reps {
		if r.Active && !exclude[r.ID] {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return ""
	}
	sort.Strings(ids)
	// The first id strictly after last, wrapping around. last need not be
	// eligible any more (it may have left the team).
	i := sort.SearchStrings(ids, last)
	if i < len(ids) && ids[i] == last {
		i++
	}
	return ids[i%len(ids)]
}
