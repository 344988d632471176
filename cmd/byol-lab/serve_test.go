package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeStartsAndStops runs `serve` with the default preset on a free
// loopback port, checks that it answers, and cancels it: it must return
// nil (exit 0) after saving every run.
func TestServeStartsAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the shapes dataset (seconds)")
	}
	ckpt := t.TempDir()
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0", "--threads", "1", "--checkpoint-dir", ckpt, "--no-frontend"}, &out, &errOut)
	}()
	base := waitForLine(t, `open (http://127\.0\.0\.1:\d+/) in a browser`, &out, &errOut, done)[1]
	if !strings.Contains(out.String(), "preset collapse") || !strings.Contains(out.String(), ckpt) {
		t.Errorf("stdout: %s", out.String())
	}

	resp, err := http.Get(base + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health struct {
		OK   bool `json:"ok"`
		Runs int  `json:"runs"`
	}
	err = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if err != nil || !health.OK || health.Runs != 2 {
		t.Fatalf("healthz: %+v %v", health, err)
	}
	resp, err = http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "without the browser frontend") {
		t.Errorf("/ without a frontend: %s", page)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after cancel: %v\nstderr: %s", err, errOut.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop 60 s after cancel")
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("stdout: %s", out.String())
	}
	saved, _ := filepath.Glob(filepath.Join(ckpt, "*", "runs.json"))
	if len(saved) != 1 {
		t.Fatalf("no runs.json under %s (stderr: %s)", ckpt, errOut.String())
	}
	// The port is free again.
	host := strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/")
	ln, err := net.Listen("tcp", host)
	if err != nil {
		t.Fatalf("port still taken: %v", err)
	}
	ln.Close()
}

// waitForLine waits up to a minute for serve (done when it returns) to
// print a line matching re and returns the match and its groups.
func waitForLine(t *testing.T, re string, out, errOut *syncBuffer, done <-chan error) []string {
	t.Helper()
	lineRE := regexp.MustCompile(re)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := lineRE.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		select {
		case err := <-done:
			t.Fatalf("serve returned early: %v\nstdout: %s\nstderr: %s", err, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line matching %s printed: %s", re, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClassroomTokenFromEnvironment: on a non-loopback address the teacher
// URL carries $BYOL_LAB_TOKEN when it is set, so a restarted server keeps
// the teacher's link; an unsafe value stops serve before it listens.
func TestClassroomTokenFromEnvironment(t *testing.T) {
	for _, tc := range []struct{ token, want string }{
		{"short", "5 characters, want 16 to 256"},
		{"", "0 characters"},
		{strings.Repeat("x", 257), "257 characters"},
		{"teacher token with spaces", `' '`},
		{"teacher&token=0123456789", `'&'`},
	} {
		t.Setenv(tokenEnv, tc.token)
		code, _, errOut := runCLI("serve", "--addr", "0.0.0.0:0", "--no-frontend", "--checkpoint-dir", "")
		if code != 1 || !strings.Contains(errOut, tokenEnv) || !strings.Contains(errOut, tc.want) {
			t.Errorf("token %q: code %d, stderr %q; want an error naming %s and %q", tc.token, code, errOut, tokenEnv, tc.want)
		}
	}
	if testing.Short() {
		t.Skip("builds the shapes dataset (seconds)")
	}
	const token = "Mrs-Lovelace_class.7B~2026"
	t.Setenv(tokenEnv, token)
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--addr", "0.0.0.0:0", "--threads", "1", "--checkpoint-dir", "", "--no-frontend"}, &out, &errOut)
	}()
	m := waitForLine(t, `teacher \(controls the runs; keep this link to yourself\): (http://\S+/)\?token=(\S+)`, &out, &errOut, done)
	if m[2] != token {
		t.Errorf("teacher URL carries token %q, want %q from $%s", m[2], token, tokenEnv)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve after cancel: %v", err)
	}
}

func TestServeFlagsAndDispatch(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--snapshot-rate", "0"}, "snapshot-rate"},
		{[]string{"serve", "--threads", "-1"}, "threads"},
		{[]string{"serve", "--max-clients", "0"}, "max-clients"},
		{[]string{"serve", "--preset", "no-such-lesson"}, "no-such-lesson"},
		{[]string{"serve", "extra"}, "unexpected arguments"},
		{[]string{"serve", "--addr", "127.0.0.1:99999", "--preset", "collapse"}, "99999"},
	} {
		code, _, errOut := runCLI(tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: code %d, stderr %q; want an error mentioning %q", tc.args, code, errOut, tc.want)
		}
	}
	if code, _, _ := runCLI("serve", "-h"); code != 0 {
		t.Errorf("serve -h: code %d", code)
	}

	// No arguments, or flags only, run serve.
	var got [][]string
	serveMain = func(args []string, stdout, stderr io.Writer) error {
		got = append(got, args)
		return nil
	}
	defer func() { serveMain = serveCmd }()
	if code, _, _ := runCLI(); code != 0 {
		t.Errorf("no arguments: code %d", code)
	}
	if code, _, _ := runCLI("--addr", "127.0.0.1:9000"); code != 0 {
		t.Errorf("flags only: code %d", code)
	}
	if len(got) != 2 || len(got[0]) != 0 || strings.Join(got[1], " ") != "--addr 127.0.0.1:9000" {
		t.Errorf("serve called with %q", got)
	}
}

func TestDefaultCheckpointDir(t *testing.T) {
	d := defaultCheckpointDir()
	if !strings.Contains(d, "byol-lab") {
		t.Fatalf("checkpoint dir %q", d)
	}
	if cache, err := os.UserCacheDir(); err == nil && !strings.HasPrefix(d, cache) {
		t.Fatalf("checkpoint dir %q not under %q", d, cache)
	}
}
