package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// Decode reads a JSON body strictly: one object, no unknown fields, no
// trailing data, within the size limit. Its errors say what is wrong and where.
func Decode(r *http.Request, dst any) error {
	return decodeBody(r, dst, false)
}

// DecodeOptional is Decode for a body that may be left out (or empty).
func DecodeOptional(r *http.Request, dst any) error {
	return decodeBody(r, dst, true)
}

func decodeBody(r *http.Request, dst any, optional bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return NewProblem(http.StatusUnsupportedMediaType, "unsupported_media_type", fmt.Sprintf("send the body as application/json, not %q", ct))
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return NewProblem(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body is larger than the %d-byte limit", mbe.Limit))
		}
		return NewProblem(http.StatusBadRequest, "unreadable_body", "could not read the request body: "+err.Error())
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return NewProblem(http.StatusBadRequest, "empty_body", "the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err, body)
	}
	if dec.More() {
		return NewProblem(http.StatusBadRequest, "invalid_json", "the body has data after the JSON object; send exactly one object")
	}
	return checkJSONText(body)
}

func jsonProblem(err error, body []byte) *Problem {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(body, se.Offset)
		return NewProblem(http.StatusBadRequest, "invalid_json", fmt.Sprintf("malformed JSON at line %d, column %d: %v", line, col, se))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return NewProblem(http.StatusBadRequest, "invalid_json", "malformed JSON: the body ends in the middle of a value")
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return NewProblem(http.StatusBadRequest, "invalid_json", fmt.Sprintf("the body must be a JSON object, not a %s", te.Value))
		}
		return NewProblem(http.StatusBadRequest, "invalid_field_type", fmt.Sprintf("field %q must be %s, not %s", field, jsonType(te.Type.String()), te.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return NewProblem(http.StatusBadRequest, "unknown_field", fmt.Sprintf("unknown field %s; check the spelling against /openapi.json", name))
	}
	return NewProblem(http.StatusBadRequest, "invalid_json", "malformed JSON: "+err.Error())
}

func jsonType(goType string) string {
	switch {
	case goType == "string" || goType == "*string":
		return "a string"
	case strings.Contains(goType, "int") || strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "bool"):
		return "true or false"
	case strings.HasPrefix(goType, "[]") || strings.HasPrefix(goType, "*[]"):
		return "an array"
	}
	return "an object"
}

func position(b []byte, off int64) (int, int) {
	line, col := 1, 1
	for i := int64(0); i < off && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// List is the list envelope (wire.List).
type List[T any] = wire.List[T]

// MaxLimit is the largest page size.
const MaxLimit = 500

// ParsePage reads ?limit= (default 50, at most MaxLimit) and ?cursor=.
func ParsePage(r *http.Request) (store.Page, error) {
	p := store.Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return p, NewProblem(http.StatusBadRequest, "invalid_limit", fmt.Sprintf("limit must be a whole number from 1 to %d, got %q", MaxLimit, s))
		}
		p.Limit = n
	}
	return p, nil
}

// TimeRange reads the since and until values (RFC 3339) into their targets.
func TimeRange(get func(string) string, since, until *time.Time) error {
	for name, dst := range map[string]*time.Time{"since": since, "until": until} {
		if s := get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return NewProblem(http.StatusBadRequest, "invalid_time", name+" must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
			}
			*dst = t
		}
	}
	return nil
}
