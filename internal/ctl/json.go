package ctl

import (
	"encoding/json"
	"time"

	"github.com/cachegen/cachegen/maintain"
)

// jsonEntry is how -json prints an entry.
type jsonEntry struct {
	Key        string          `json:"key"`
	Func       string          `json:"func"`
	Version    int             `json:"version"`
	ComputedAt time.Time       `json:"computed_at"`
	DurationS  float64         `json:"duration_s"`
	Size       int64           `json:"size"`
	LastUsed   time.Time       `json:"last_used"`
	TTLS       float64         `json:"ttl_s,omitempty"`
	Stale      bool            `json:"stale"`
	Code       string          `json:"code,omitempty"`
	OldVersion bool            `json:"old_version"`
	OtherCode  bool            `json:"other_code"`          // computed under its version by code that the code of the module here does not serve
	Signature  string          `json:"signature,omitempty"` // with a signing key: "verified", or "bad" (unsigned, another key's, or changed)
	Params     json.RawMessage `json:"params"`
	Inputs     []jsonInput     `json:"inputs,omitempty"`
	Result     string          `json:"result,omitempty"` // show only: the stored result, for people
}

// jsonInput is how -json prints a file input.
type jsonInput struct {
	Path   string `json:"path"`
	Dir    bool   `json:"dir,omitempty"`
	Files  int    `json:"files,omitempty"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// toJSON returns how -json prints e; signed says its signature was checked.
func toJSON(e maintain.Entry, signed bool) jsonEntry {
	params := json.RawMessage(e.Params)
	if !json.Valid(params) {
		// Python's JSON may hold NaN or Infinity: give it as a string.
		params, _ = json.Marshal(string(e.Params))
	}
	j := jsonEntry{Key: e.Key, Func: e.Func, Version: e.Version, ComputedAt: e.ComputedAt, DurationS: e.Duration.Seconds(),
		Size: e.Size, LastUsed: e.LastUsed, TTLS: e.TTL.Seconds(), Stale: e.Stale, Code: e.Code, OldVersion: e.OldVersion, OtherCode: e.OtherCode, Params: params}
	for _, in := range e.Inputs {
		j.Inputs = append(j.Inputs, jsonInput(in))
	}
	if signed {
		j.Signature = "verified"
		if e.BadSignature {
			j.Signature = "bad"
		}
	}
	return j
}
