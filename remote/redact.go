package remote

import (
	"net/url"
	"slices"
	"strings"
)

// Credentials in remote URLs never reach logs or errors.

// redact returns u as text fit to show: its password, the values of query
// parameters whose names suggest a secret, and the credentials of URLs
// among its query values (an S3 endpoint=) become "xxxxx"; and when a
// malformed URL leaves an "@" elsewhere (see strayAt), everything between
// its scheme and its last "@" goes.
func redact(u *url.URL) string {
	if strayAt(u) {
		return redactText(u.String())
	}
	c := *u
	if c.User != nil {
		if _, ok := c.User.Password(); ok {
			c.User = url.UserPassword(c.User.Username(), "xxxxx")
		}
	}
	q := c.Query()
	for k, vs := range q {
		for i, v := range vs {
			switch {
			case secretParam(k):
				vs[i] = "xxxxx"
			case strings.Contains(v, "@"):
				vs[i] = redactText(v)
			}
		}
	}
	c.RawQuery = q.Encode()
	return c.String()
}

func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"pass", "secret", "token", "key", "credential", "auth"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// scrub removes the secrets of u, as redact finds them, from msg: for
// errors that quote them.
func scrub(msg string, u *url.URL) string {
	var secrets []string
	add := func(s string) {
		if s != "" {
			secrets = append(secrets, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	for k, vs := range u.Query() {
		add(credentials(k))
		for _, v := range vs {
			if secretParam(k) {
				add(v)
			}
			add(credentials(v))
		}
	}
	add(credentials(u.Opaque + u.Path + u.Fragment))
	// Longest first, so that a secret is never left half replaced; then
	// what a server may echo of one cut short: its start, from
	// minEchoed bytes on.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	for _, s := range secrets {
		for n := len(s) - 1; n >= minEchoed; n-- {
			msg = strings.ReplaceAll(msg, s[:n], "xxxxx")
		}
	}
	return msg
}

// minEchoed is the shortest start of a secret that is redacted where a
// message quotes it.
const minEchoed = 4

// Scrub removes from msg the secrets of the remote URL rawURL, whole or
// their start, as redact finds them: for messages that quote what a
// store or its server said.
func Scrub(msg, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		if c := credentials(rawURL); c != "" {
			return strings.ReplaceAll(msg, c, "xxxxx")
		}
		return msg
	}
	return scrub(msg, u)
}

// scrubbed is an error whose message has a URL's secrets removed, and
// which wraps the error it was made from.
type scrubbed struct {
	msg string
	err error
}

func (e scrubbed) Error() string { return e.msg }
func (e scrubbed) Unwrap() error { return e.err }

// credentials returns the part of a string meant as a URL that may hold
// credentials: everything between its scheme and its last "@", or "".
func credentials(s string) string {
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return ""
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 && i < at {
		start = i + 3
	} else if i := strings.Index(s, ":"); i >= 0 && i < at {
		start = i + 1
	}
	return s[start:at]
}

// redactText redacts a string meant as a URL that may not parse as one:
// everything between its scheme and its last "@" goes.
func redactText(s string) string {
	c := credentials(s)
	if c == "" {
		return s
	}
	at := strings.LastIndex(s, "@")
	return s[:at-len(c)] + "xxxxx" + s[at:]
}

// strayAt reports whether u has an "@" outside its user information and
// its query values: in its path, fragment or a query key, where only a
// malformed URL puts one.
func strayAt(u *url.URL) bool {
	if strings.Contains(u.Opaque+u.Path+u.RawPath+u.Fragment+u.RawFragment, "@") {
		return true
	}
	for k := range u.Query() {
		if strings.Contains(k, "@") {
			return true
		}
	}
	return false
}
