package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/store"
)

// maxJSONBody caps JSON request bodies; evidence files have their own cap.
const maxJSONBody = 1 << 20

// decodeJSON reads a JSON body into dst, refusing unknown fields, trailing
// data and bodies over the cap, with errors that name the field.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") {
		return attest.Invalid("Content-Type", "must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return attest.Invalid("body", "must hold one JSON object and nothing after it")
	}
	if _, err := dec.Token(); err != io.EOF {
		return attest.Invalid("body", "must hold one JSON object and nothing after it")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return errTooLarge("body")
	case errors.As(err, &syn):
		return attest.Invalid("body", fmt.Sprintf("malformed JSON at byte %d", syn.Offset))
	case errors.As(err, &typ):
		return attest.Invalid(typ.Field, fmt.Sprintf("must be a JSON %s", typ.Type.String()))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return attest.Invalid("body", "is empty or cut short")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return attest.Invalid(field, "is not a known field")
	}
	return attest.Invalid("body", "is not valid JSON")
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// List is the envelope of every collection.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func listOf[T any](items []T, next string) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, NextCursor: next}
}

// answerChange runs change in a transaction as the caller and answers its
// result as JSON with status: the shape of most API writes.
func answerChange[T any](s *Server, w http.ResponseWriter, r *http.Request, c *call, status int, change func(tx *store.Tx) (T, error)) error {
	var out T
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		var err error
		out, err = change(tx)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, status, out)
}
