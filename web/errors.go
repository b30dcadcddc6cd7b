package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	attest "github.com/attest-hq/attest"
)

// statusOf is the one table from error kinds to HTTP status codes.
var statusOf = map[attest.ErrorKind]int{
	attest.KindInternal:        http.StatusInternalServerError,
	attest.KindInvalid:         http.StatusBadRequest,
	attest.KindUnauthenticated: http.StatusUnauthorized,
	attest.KindForbidden:       http.StatusForbidden,
	attest.KindNotFound:        http.StatusNotFound,
	attest.KindConflict:        http.StatusConflict,
	attest.KindTooLarge:        http.StatusRequestEntityTooLarge,
	attest.KindRateLimited:     http.StatusTooManyRequests,
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
}

// problemFor turns any error into what the user may see: the message of a
// domain error, or a generic text for anything internal (logged instead).
func problemFor(err error) Problem {
	kind := attest.KindOf(err)
	status := statusOf[kind]
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status}
	var e *attest.Error
	if kind != attest.KindInternal && errors.As(err, &e) {
		p.Detail, p.Field = e.Message, e.Field
	} else if kind == attest.KindNotFound {
		p.Detail = "not found"
	} else if kind == attest.KindConflict {
		p.Detail = "the change conflicts with the current state; reload and try again"
	} else {
		p.Detail = "something went wrong on our side; the error was logged"
	}
	return p
}

func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	if p.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// errTooLarge reports a body over its cap.
func errTooLarge(field string) error {
	return &attest.Error{Kind: attest.KindTooLarge, Field: field, Message: "the request body is too large"}
}

var slogDiscard = slog.New(slog.DiscardHandler)
