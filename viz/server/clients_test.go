package server

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The load tests connect their clients from a second process, this test
// binary run again: in a classroom the browsers are on other machines,
// and clients in the server's process would charge their reading to the
// server. The helper connects the clients, says "ready", reads until its
// stdin closes, then reports what the clients got.

const helperEnv = "BYOL_LAB_LOAD_CLIENTS"

// TestLoadClientsHelper is the helper process; as a test it skips.
func TestLoadClientsHelper(t *testing.T) {
	url := os.Getenv(helperEnv)
	if url == "" {
		t.Skip("the client process of the load tests")
	}
	n, _ := strconv.Atoi(os.Getenv(helperEnv + "_N"))
	slow, _ := strconv.Atoi(os.Getenv(helperEnv + "_SLOW"))
	ts := &testServer{addr: strings.TrimPrefix(strings.TrimSuffix(url, "/ws"), "ws://")}
	clients := make([]*loadClient, n)
	for i := range clients {
		conn, _, err := dialRaw(ts, dialOpt{})
		if err != nil {
			fmt.Printf("LOADCLIENTS error client %d: %v\n", i, err)
			os.Exit(1)
		}
		clients[i] = &loadClient{conn: conn, slow: i < slow, done: make(chan struct{})}
		go clients[i].read()
	}
	fmt.Println("LOADCLIENTS ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	var st [4]int64 // fast snapshots, slow snapshots, fast JSON, slow JSON
	ended := 0
	for _, c := range clients {
		c.quit.Store(true)
		_ = c.conn.Close()
	}
	for _, c := range clients {
		<-c.done
		k := 0
		if c.slow {
			k = 1
		}
		st[k] += c.snaps.Load()
		st[k+2] += c.jsons.Load()
		if c.ended {
			ended++
		}
	}
	fmt.Printf("LOADCLIENTS stats %d %d %d %d %d\n", st[0], st[1], st[2], st[3], ended)
}

// clientProc is a running helper process.
type clientProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  *bufio.Scanner
	stderr strings.Builder
}

// startClients starts a helper with n clients, slow of them slow readers,
// and waits until they are connected.
func startClients(t testing.TB, ts *testServer, n, slow int) *clientProc {
	t.Helper()
	p := &clientProc{cmd: exec.Command(os.Args[0], "-test.run=^TestLoadClientsHelper$", "-test.count=1")}
	p.cmd.Env = append(os.Environ(), helperEnv+"="+ts.wsURL(""), helperEnv+"_N="+strconv.Itoa(n), helperEnv+"_SLOW="+strconv.Itoa(slow))
	p.cmd.Stderr = &p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.lines = bufio.NewScanner(out)
	ready := make(chan string, 1)
	go func() {
		for p.lines.Scan() {
			if l := p.lines.Text(); strings.HasPrefix(l, "LOADCLIENTS ") {
				ready <- l
				return
			}
		}
		ready <- "LOADCLIENTS exited"
	}()
	select {
	case l := <-ready:
		if l != "LOADCLIENTS ready" {
			_ = p.cmd.Wait()
			t.Fatalf("client process: %s\n%s", l, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatalf("client process not ready after 60 s\n%s", p.stderr.String())
	}
	return p
}

// clientStats is what a helper's clients received.
type clientStats struct {
	fastSnaps, slowSnaps, fastJSON, slowJSON, ended int64
}

// stop closes the helper's clients and returns their counts.
func (p *clientProc) stop(t testing.TB) clientStats {
	t.Helper()
	_ = p.stdin.Close()
	var st clientStats
	var line string
	for p.lines.Scan() {
		if l := p.lines.Text(); strings.HasPrefix(l, "LOADCLIENTS stats ") {
			line = l
		}
	}
	if err := p.cmd.Wait(); err != nil || line == "" {
		t.Fatalf("client process: %v %q\n%s", err, line, p.stderr.String())
	}
	if _, err := fmt.Sscanf(line, "LOADCLIENTS stats %d %d %d %d %d", &st.fastSnaps, &st.slowSnaps, &st.fastJSON, &st.slowJSON, &st.ended); err != nil {
		t.Fatalf("client process stats %q: %v", line, err)
	}
	return st
}
