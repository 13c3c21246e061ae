package httpapi

import (
	"net/http"
	"regexp"

	"clavis.dev/clavis"
)

// errHumansOnly refuses an agent on a route for human users, before anything is looked up.
var errHumansOnly = clavis.E(clavis.KindForbidden, "This endpoint is for human users only")

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// id returns a UUID path parameter; a malformed one means "does not exist" (spec §1.1).
func id(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	if !uuidRe.MatchString(v) {
		return "", clavis.ErrNotFound
	}
	return v, nil
}

// secretPath returns the decoded {path...} tail (spec §4.5.1: decoded once, then validated by the engine).
func secretPath(r *http.Request) string { return r.PathValue("path") }
