package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// NewToken returns a random teacher token: 128 bits from crypto/rand as 32
// hex digits, which a URL carries without escaping.
func NewToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// tokenOK compares a presented token with the teacher's in constant time.
// No teacher token means nothing to present; an empty presented token
// never matches.
func tokenOK(want, got string) bool {
	if want == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// IsLoopback reports whether a listen address (host:port) accepts
// connections from this machine only. An empty host or an unspecified
// address (0.0.0.0, ::) listens on every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return isLoopbackHost(host)
}

// isLoopbackHost: localhost (and *.localhost, which resolvers must map to
// loopback) or a loopback IP.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostOnly strips the port from a Host header or URL host.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// access decides which browsers may talk to the server.
type access struct {
	// loopback: the server listens on loopback only, so it checks the Host
	// header too: a page on evil.example whose name an attacker re-points
	// at 127.0.0.1 (DNS rebinding) would otherwise be "same origin".
	loopback bool
	// allow are extra origins ("http://host:port") or hosts ("host:port",
	// "host"), lower case.
	allow []string
}

func newAccess(loopback bool, allow []string) *access {
	a := &access{loopback: loopback}
	for _, s := range allow {
		if s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "/"); s != "" {
			a.allow = append(a.allow, s)
		}
	}
	return a
}

// allowed reports whether an origin URL or a host (with or without port)
// is on the allow-list.
func (a *access) allowed(origin *url.URL, host string) bool {
	for _, s := range a.allow {
		switch {
		case origin != nil && s == strings.ToLower(origin.Scheme+"://"+origin.Host):
			return true
		case strings.Contains(s, "://"):
		case s == strings.ToLower(host) || s == strings.ToLower(hostOnly(host)):
			return true
		}
	}
	return false
}

// hostOK checks the Host header of a request to a loopback-only server.
func (a *access) hostOK(r *http.Request) bool {
	return !a.loopback || isLoopbackHost(hostOnly(r.Host)) || a.allowed(nil, r.Host)
}

// originOK is the websocket origin check. A request without Origin is not
// from a browser page, so cross-site forgery does not apply (control still
// needs the token). A browser page may connect when it was served by this
// server (same host and port), when it is on the allow-list, or when both
// the page and the browser are on this machine (a loopback origin from a
// loopback peer: a development server for the frontend, say). A loopback
// origin from another machine names that machine's own localhost, so it
// is refused.
func (a *access) originOK(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) || a.allowed(u, u.Host) {
		return true
	}
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	return err == nil && isLoopbackHost(u.Hostname()) && isLoopbackHost(peer)
}

// bucket is a token bucket: rate tokens a second, at most burst saved.
type bucket struct {
	rate, burst, tokens float64
	at                  time.Time
}

func newBucket(rate float64, burst int, now time.Time) bucket {
	return bucket{rate: rate, burst: float64(burst), tokens: float64(burst), at: now}
}

// take removes a token if there is one.
func (b *bucket) take(now time.Time) bool {
	if d := now.Sub(b.at).Seconds(); d > 0 {
		b.tokens = min(b.burst, b.tokens+d*b.rate)
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
