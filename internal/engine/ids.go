package engine

import "clavis.dev/clavis"

// validID reports whether s is an id as the engine mints them: a UUID in canonical lowercase form.
func validID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// lookupIDs answers a malformed id with ErrNotFound, as a missing object (spec §1.1: an *_id that is not
// a UUID means "does not exist", never 400). Callers run it after their route-level refusals (persona,
// role and the scoped-credential ceiling: 403 before any lookup, spec §1.7 rule 6 and §1.9) and before
// anything else, so that past those a malformed id answers exactly as a missing object.
func lookupIDs(ids ...string) error {
	for _, id := range ids {
		if !validID(id) {
			return clavis.ErrNotFound
		}
	}
	return nil
}
