package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/device"
	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/server"
	"github.com/byol-lab/byol-lab/viz/web"
)

// frontend, when set, is the browser app the server mounts at / instead
// of building one with viz/web (a build with the bundle embedded, tests).
var frontend http.Handler

// serveCmd runs the live lab until SIGINT or SIGTERM.
func serveCmd(args []string, stdout, stderr io.Writer) error {
	// The first signal shuts down gracefully (close clients, save
	// checkpoints); a second one kills the process as usual.
	ctx, stop := interruptContext()
	defer stop()
	return serve(ctx, args, stdout, stderr)
}

// serve runs the lab server until ctx is done, then shuts it down and
// saves the runs.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address; a non-loopback one (0.0.0.0:8080 for a classroom) prints a teacher token ($"+tokenEnv+" if set, else a new one) and makes viewers read-only")
	preset := fs.String("preset", lab.DefaultPreset, "runs to start with: a built-in preset ("+strings.Join(lab.PresetNames(), ", ")+") or a YAML file")
	openControls := fs.Bool("open-controls", false, "let every viewer control the runs, even on a non-loopback address")
	threads := fs.Int("threads", 0, "CPU threads for training (0: all cores)")
	snapRate := fs.Float64("snapshot-rate", 5, "embedding snapshots per second per run, at most")
	maxClients := fs.Int("max-clients", 200, "websocket clients at once")
	ckptDir := fs.String("checkpoint-dir", defaultCheckpointDir(), `where every run is saved on shutdown, in a directory named by the time ("": don't save)`)
	dataDir := fs.String("data-dir", "", "dataset files, for presets on mnist, cifar10 or folder")
	dev := fs.String("device", "cpu", deviceHelp)
	noFrontend := fs.Bool("no-frontend", false, "don't build the browser frontend; / shows the lab's status only")
	var origins listFlag
	fs.Var(&origins, "allow-origin", "another origin (http://host:port) or host whose pages may connect; repeat or separate with commas")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("serve: unexpected arguments %q", fs.Args())
	case *threads < 0:
		return fmt.Errorf("serve: --threads %d must be ≥ 0", *threads)
	case math.IsNaN(*snapRate) || *snapRate <= 0 || *snapRate > 100:
		return fmt.Errorf("serve: --snapshot-rate %v must be in (0, 100]", *snapRate)
	case *maxClients < 1:
		return fmt.Errorf("serve: --max-clients %d must be ≥ 1", *maxClients)
	}
	p, err := lab.ReadPreset(*preset)
	if err != nil {
		return err
	}
	var b backend.Backend // nil: the lab's own CPU backend on its pool
	if *dev != "cpu" {
		if b, err = device.Open(*dev, nil); err != nil {
			return err
		}
	}

	loopback := server.IsLoopback(*addr)
	token := ""
	if !loopback {
		if token, err = teacherToken(); err != nil {
			return fmt.Errorf("serve: teacher token: %w", err)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer ln.Close()
	names := make([]string, len(p.Runs))
	for i, r := range p.Runs {
		names[i] = r.Name
	}
	fmt.Fprintf(stdout, "byol-lab: preset %s on %s: %s (preparing the dataset…)\n", p.Name, p.Dataset, strings.Join(names, ", "))
	logger := log.New(stderr, "byol-lab: ", log.LstdFlags)
	fe := frontend
	if fe == nil && !*noFrontend {
		// Built (or taken from the cache) in the background: the lab
		// trains meanwhile and / says the frontend is on its way.
		fe = web.Start(ctx, web.Options{Logf: logger.Printf})
	}
	srv, err := server.New(server.Options{
		Lab: lab.Options{Threads: *threads, SnapshotRate: *snapRate, DataOptions: data.Options{DataDir: *dataDir},
			Device: *dev, Backend: b},
		Preset:        p,
		Frontend:      fe,
		Token:         token,
		OpenControls:  *openControls,
		AllowOrigins:  origins,
		MaxClients:    *maxClients,
		CheckpointDir: *ckptDir,
		ServerName:    "byol-lab",
		Log:           logger,
	})
	if err != nil {
		return err
	}

	urls := pageURLs(ln.Addr())
	if loopback {
		fmt.Fprintf(stdout, "byol-lab: open %s in a browser\n", urls[0])
	} else {
		fmt.Fprintf(stdout, "byol-lab: classroom mode on %s\n", ln.Addr())
		for _, u := range urls {
			fmt.Fprintf(stdout, "  students (watch only): %s\n", u)
		}
		fmt.Fprintf(stdout, "  teacher (controls the runs; keep this link to yourself): %s?token=%s\n", urls[0], token)
		if *openControls {
			fmt.Fprintf(stdout, "  --open-controls: every viewer may control the runs\n")
		}
	}
	if *ckptDir != "" {
		fmt.Fprintf(stdout, "byol-lab: on exit every run is saved under %s\n", *ckptDir)
	}
	fmt.Fprintf(stdout, "byol-lab: Ctrl-C stops the lab\n")
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "byol-lab: stopped\n")
	return nil
}

// defaultCheckpointDir is byol-lab/runs in the user's cache directory, or
// ./byol-lab-runs where there is none.
func defaultCheckpointDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "byol-lab", "runs")
	}
	return "byol-lab-runs"
}

// tokenEnv names the environment variable that fixes the teacher token, so
// that a restarted classroom server keeps the teacher's link. It is not a
// flag: a flag would show the secret to everyone who can list processes.
const tokenEnv = "BYOL_LAB_TOKEN"

// teacherToken returns $BYOL_LAB_TOKEN if set, or a new random token. A set
// token must be hard to guess and fit in a URL as it is.
func teacherToken() (string, error) {
	t, ok := os.LookupEnv(tokenEnv)
	if !ok {
		return server.NewToken()
	}
	if len(t) < 16 || len(t) > 256 {
		return "", fmt.Errorf("$%s holds %d characters, want 16 to 256", tokenEnv, len(t))
	}
	for _, r := range t {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-._~", r)) {
			return "", fmt.Errorf("$%s holds %q: use letters, digits and - . _ ~ only, so the teacher URL needs no escaping", tokenEnv, r)
		}
	}
	return t, nil
}

// pageURLs are the addresses to open the lab at: the listener's own, or
// for an address on every interface, each interface's (loopback last).
func pageURLs(a net.Addr) []string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return []string{"http://" + a.String() + "/"}
	}
	port := fmt.Sprint(tcp.Port)
	if !tcp.IP.IsUnspecified() {
		return []string{"http://" + net.JoinHostPort(tcp.IP.String(), port) + "/"}
	}
	var out []string
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, ia := range addrs {
			if n, ok := ia.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				out = append(out, "http://"+net.JoinHostPort(n.IP.String(), port)+"/")
			}
		}
	}
	return append(out, "http://"+net.JoinHostPort("127.0.0.1", port)+"/")
}

// listFlag collects a repeatable, comma-separated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	if len(*l) == 0 {
		return errors.New("empty origin")
	}
	return nil
}
