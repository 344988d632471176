package tutorials

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/device"
	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/ui"
)

// repoRoot is where lesson commands run: `go run ./cmd/byol-lab` and
// `tutorials/presets/….yaml` are relative to it.
const repoRoot = ".."

// cmdSteps is the budget every printed `train` command runs with here: the
// command must parse, load its data, train, evaluate and write its files;
// how well it learns is the claims' business.
const cmdSteps = 3

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// byolLab builds the CLI once per test binary.
func byolLab(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "byol-lab-tutorials-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "byol-lab")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/byol-lab")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/byol-lab: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// runner runs the commands of the lessons in order, so that a command can
// use what an earlier one wrote (train --out runs/x, then --resume or the
// Python loader on runs/x/checkpoint.safetensors).
type runner struct {
	t       *testing.T
	tmp     string
	outs    map[string]string // --out as printed → the directory used here
	data    map[string]string // dataset → fixture directory for --data-dir
	evalCfg string
}

func newRunner(t *testing.T) *runner {
	r := &runner{t: t, tmp: t.TempDir(), outs: map[string]string{}, data: map[string]string{}}
	// The CLI evaluates kNN with 10,000 × 10,000 images, which would cost
	// more than the steps; a config file with small evaluation sets goes
	// under the printed flags (flags override a config file).
	r.evalCfg = filepath.Join(r.tmp, "eval-small.yaml")
	if err := os.WriteFile(r.evalCfg, []byte("eval: {bank_size: 500, query_size: 200, metric_size: 100, k: 20, temp: 0.07}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// out maps a printed --out directory to one under the test's temp dir.
func (r *runner) out(printed string) string {
	if d, ok := r.outs[printed]; ok {
		return d
	}
	d := filepath.Join(r.tmp, "out", fmt.Sprint(len(r.outs)))
	r.outs[printed] = d
	return d
}

// path maps a path printed in a lesson: inside a printed --out directory it
// goes to the directory used here, otherwise it is relative to the repo.
func (r *runner) path(printed string) string {
	for p, d := range r.outs {
		if rest, ok := strings.CutPrefix(printed, strings.TrimSuffix(p, "/")+"/"); ok {
			return filepath.Join(d, rest)
		}
	}
	return printed
}

// dataDir returns a small stand-in for a dataset a lesson reads with
// --data-dir: the CIFAR-10 binary format, or a folder of PNGs.
func (r *runner) dataDir(dataset string) string {
	t := r.t
	if d, ok := r.data[dataset]; ok {
		return d
	}
	d := filepath.Join(r.tmp, "data", dataset)
	switch dataset {
	case "cifar10":
		const record = 1 + 3*32*32
		for b, name := range []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"} {
			var buf []byte
			for i := range 40 {
				rec := make([]byte, record)
				rec[0] = byte(i % 10)
				for j := 1; j < record; j++ {
					rec[j] = byte(j*(i%10+1) + 7*b)
				}
				buf = append(buf, rec...)
			}
			writeFile(t, filepath.Join(d, name), buf)
		}
	case "folder":
		classes := map[string]color.RGBA{"red": {200, 30, 30, 255}, "green": {30, 200, 30, 255}, "blue": {30, 30, 200, 255}}
		for name, c := range classes {
			for i := range 12 {
				split := "train"
				if i >= 9 {
					split = "test"
				}
				img := image.NewRGBA(image.Rect(0, 0, 40, 40))
				for y := range 40 {
					for x := range 40 {
						img.Set(x, y, color.RGBA{c.R, c.G, uint8((x*y + 13*i) % 256), 255})
					}
				}
				var b bytes.Buffer
				if err := png.Encode(&b, img); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(d, split, name, fmt.Sprintf("%d.png", i)), b.Bytes())
			}
		}
	default:
		t.Fatalf("no stand-in data for --dataset %s --data-dir: use the dataset's default location in lessons", dataset)
	}
	r.data[dataset] = d
	return d
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// flagValue returns the value of --name (or -name) in args, as given by
// "--name value" or "--name=value".
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		for _, p := range []string{"--" + name, "-" + name} {
			if a == p && i+1 < len(args) {
				return args[i+1], true
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v, true
			}
		}
	}
	return "", false
}

// setFlag replaces --name's value, or appends the flag.
func setFlag(args []string, name, value string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		for _, p := range []string{"--" + name, "-" + name} {
			if a == p && i+1 < len(out) {
				out[i+1] = value
				return out
			}
			if strings.HasPrefix(a, p+"=") {
				out[i] = p + "=" + value
				return out
			}
		}
	}
	return append(out, "--"+name, value)
}

func hasFlag(args []string, name string) bool {
	return slices.Contains(args, "--"+name) || slices.Contains(args, "-"+name)
}

// byolLabArgs returns the arguments of a byol-lab command line, however
// it is started.
func byolLabArgs(line string) ([]string, bool) {
	for _, p := range []string{"go run ./cmd/byol-lab", "./byol-lab", "byol-lab"} {
		if rest, ok := strings.CutPrefix(line, p); ok && (rest == "" || rest[0] == ' ') {
			return strings.Fields(rest), true
		}
	}
	return nil, false
}

// run checks one command line of a lesson.
func (r *runner) run(t *testing.T, line string) {
	if strings.ContainsAny(line, `"'\$|;&<>*`+"`") {
		t.Fatalf("%q: keep lesson commands to plain words (no quotes, variables, pipes or continuations) so that they can be checked", line)
	}
	if i := strings.Index(line, " #"); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	if args, ok := byolLabArgs(line); ok {
		r.byolLab(t, args)
		return
	}
	f := strings.Fields(line)
	switch {
	case len(f) >= 2 && f[0] == "go" && f[1] == "build":
		r.goBuild(t, f[2:])
	case len(f) >= 2 && f[0] == "go" && f[1] == "test":
		r.goTest(t, f[2:])
	case f[0] == "python3":
		r.python(t, f[1:])
	default:
		t.Fatalf("%q: not a command these tests know how to check (byol-lab, go build, go test, python3)", line)
	}
}

func (r *runner) byolLab(t *testing.T, args []string) {
	sub := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "serve":
		r.serve(t, args)
	case "train":
		r.train(t, args)
	case "bench":
		args = setFlag(setFlag(setFlag(args, "warmup", "0"), "timed", "1"), "threads", "1")
		if hasFlag(args, "lab") {
			args = setFlag(args, "seconds", "1")
		}
		r.exec(t, append([]string{"bench"}, args...), 0, "")
	case "help":
		r.exec(t, []string{"help"}, 0, "")
	default:
		t.Fatalf("unknown byol-lab command %q", sub)
	}
}

// cudaOnly says whether the command needs the CUDA build; here, in the
// default build, it must fail with the message that says how to get one
// (which means every other flag parsed).
func cudaOnly(args []string) bool {
	v, _ := flagValue(args, "device")
	return v == "cuda" && !device.HasCUDA()
}

func (r *runner) train(t *testing.T, args []string) {
	printedOut, hasOut := flagValue(args, "out")
	if hasOut {
		args = setFlag(args, "out", r.out(printedOut))
	}
	if hasFlag(args, "data-dir") {
		ds, _ := flagValue(args, "dataset")
		args = setFlag(args, "data-dir", r.dataDir(ds))
	}
	if !hasFlag(args, "resume") {
		args = setFlag(setFlag(args, "steps", fmt.Sprint(cmdSteps)), "threads", "1")
		if !hasFlag(args, "config") {
			args = append(args, "--config", r.evalCfg)
		}
	}
	if cudaOnly(args) {
		r.exec(t, append([]string{"train"}, args...), 1, device.NoCUDA)
		return
	}
	r.exec(t, append([]string{"train"}, args...), 0, "")
	if hasOut {
		for _, f := range []string{"metrics.jsonl", "checkpoint.safetensors", "curves.png"} {
			if _, err := os.Stat(filepath.Join(r.out(printedOut), f)); err != nil {
				t.Errorf("train --out %s wrote no %s", printedOut, f)
			}
		}
	}
}

// exec runs byol-lab with args and wants exit code code and, when want is
// not empty, want in its output.
func (r *runner) exec(t *testing.T, args []string, code int, want string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, byolLab(t), args...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	got := cmd.ProcessState.ExitCode()
	if err != nil && got < 0 {
		t.Fatalf("byol-lab %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if got != code || !strings.Contains(string(out), want) {
		t.Fatalf("byol-lab %s: exit %d, want %d with %q in the output:\n%s", strings.Join(args, " "), got, code, want, tail(out))
	}
}

func tail(b []byte) string {
	s := strings.ReplaceAll(string(b), "\r", "\n")
	if len(s) > 3000 {
		s = "…" + s[len(s)-3000:]
	}
	return s
}

// serve starts the lab as printed, on a free port and without building the
// browser frontend, waits until it serves, and stops it with Ctrl-C.
func (r *runner) serve(t *testing.T, args []string) {
	if v, ok := flagValue(args, "addr"); ok {
		host := v[:max(0, strings.LastIndex(v, ":"))]
		args = setFlag(args, "addr", host+":0")
	} else {
		args = append(args, "--addr", "127.0.0.1:0")
	}
	args = append(args, "--no-frontend", "--threads", "1", "--checkpoint-dir", filepath.Join(r.tmp, "serve-runs"))
	if hasFlag(args, "data-dir") {
		p, _ := flagValue(args, "preset")
		pr, err := lab.ReadPreset(filepath.Join(repoRoot, p))
		if err != nil {
			t.Fatal(err)
		}
		args = setFlag(args, "data-dir", r.dataDir(pr.Dataset))
	}
	if cudaOnly(args) {
		r.exec(t, append([]string{"serve"}, args...), 1, device.NoCUDA)
		return
	}
	cmd := exec.Command(byolLab(t), append([]string{"serve"}, args...)...)
	cmd.Dir = repoRoot
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(out.String(), "Ctrl-C stops the lab") {
		select {
		case err := <-done:
			t.Fatalf("byol-lab serve %s stopped before serving: %v\n%s", strings.Join(args, " "), err, out.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("byol-lab serve %s: not serving after 2 minutes:\n%s", strings.Join(args, " "), out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("byol-lab serve %s after Ctrl-C: %v\n%s", strings.Join(args, " "), err, out.String())
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("byol-lab serve did not stop after Ctrl-C:\n%s", out.String())
	}
}

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

// goBuild checks a build line by listing the package with the same tags
// (compiling the CUDA build needs the CUDA toolkit).
func (r *runner) goBuild(t *testing.T, args []string) {
	list := []string{"list"}
	if tags, ok := flagValue(args, "tags"); ok {
		list = append(list, "-tags", tags)
	}
	pkg := args[len(args)-1]
	if pkg != "./cmd/byol-lab" {
		t.Fatalf("go build of %s: lessons build ./cmd/byol-lab", pkg)
	}
	cmd := exec.Command("go", append(list, pkg)...)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(list, " "), err, out)
	}
}

// goTest checks that a `go test ./tutorials/ -run X` line names tests that
// exist (running them from here would recurse).
func (r *runner) goTest(t *testing.T, args []string) {
	if len(args) == 0 || strings.TrimSuffix(args[0], "/") != "./tutorials" {
		t.Fatalf("go test %v: lessons only run the tutorials' own tests", args)
	}
	pat, ok := flagValue(args, "run")
	if !ok {
		return
	}
	names := testNames(t)
	for _, alt := range strings.Split(pat, "|") {
		re, err := regexp.Compile(alt)
		if err != nil {
			t.Fatalf("go test -run %s: %v", pat, err)
		}
		if !slices.ContainsFunc(names, re.MatchString) {
			t.Errorf("go test -run %s: %q matches none of %v", pat, alt, names)
		}
	}
}

func testNames(t *testing.T) []string {
	files, _ := filepath.Glob("*_test.go")
	var names []string
	re := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			names = append(names, m[1])
		}
	}
	return names
}

// python runs a Python line of a lesson when this machine has Python with
// torch; paths inside a printed --out directory point at what the lesson's
// train command wrote here.
func (r *runner) python(t *testing.T, args []string) {
	py := pythonWithTorch(t)
	for i, a := range args {
		args[i] = r.path(a)
	}
	cmd := exec.Command(py, args...)
	cmd.Dir = repoRoot
	cmd.Env = noPycache()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python3 %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// noPycache is the environment for Python runs: importing byol_encoder must
// not leave a __pycache__ folder in the work tree.
func noPycache() []string { return append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1") }

// pythonWithTorch returns /usr/bin/python3 when it can import torch and
// numpy, and skips the test otherwise.
func pythonWithTorch(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no /usr/bin/python3: the Python part of the lesson is not checked here")
	}
	if out, err := exec.Command(py, "-c", "import torch, numpy").CombinedOutput(); err != nil {
		t.Skipf("python3 lacks torch or numpy: the Python part of the lesson is not checked here (%s)", bytes.TrimSpace(out))
	}
	return py
}

// TestLessonCommands runs every command printed in the lessons, in order,
// each train command with --steps 3 and small evaluation sets.
func TestLessonCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every command of the lessons (a minute or two)")
	}
	t.Parallel()
	r := newRunner(t)
	for _, p := range lessonPaths(t) {
		l := readLesson(t, p)
		for _, c := range l.Commands {
			t.Run(fmt.Sprintf("%s:%d", p, c.Line), func(t *testing.T) {
				r.t = t
				r.run(t, c.Text)
			})
		}
	}
}

var (
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	labLink = regexp.MustCompile(`https?://(?:127\.0\.0\.1|localhost):8080[^\s)>\]` + "`" + `]*`)
)

// TestLessonLinks checks every link: relative links must name files that
// exist, and links into the lab must be what the frontend parses (viz/ui's
// own parser), name a built-in preset and a label set of its dataset.
func TestLessonLinks(t *testing.T) {
	labels := map[string][]string{}
	labelsOf := func(dataset string) []string {
		if l, ok := labels[dataset]; ok {
			return l
		}
		ds, err := data.Load(dataset, data.Options{TrainN: 20, TestN: 20})
		if err != nil {
			t.Fatal(err)
		}
		for _, ls := range ds.Test.Labels {
			labels[dataset] = append(labels[dataset], ls.Name)
		}
		return labels[dataset]
	}
	for _, p := range lessonPaths(t) {
		l := readLesson(t, p)
		for _, m := range mdLink.FindAllStringSubmatch(l.Text, -1) {
			target := m[1]
			if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "#") {
				continue
			}
			file, _, _ := strings.Cut(target, "#")
			if _, err := os.Stat(filepath.Join(filepath.Dir(p), file)); err != nil {
				t.Errorf("%s: link to %s: %v", p, target, err)
			}
		}
		for _, u := range labLink.FindAllString(l.Text, -1) {
			pu, err := url.Parse(u)
			if err != nil {
				t.Errorf("%s: %s: %v", p, u, err)
				continue
			}
			if pu.Host != "127.0.0.1:8080" || (pu.Path != "/" && pu.Path != "") || pu.RawQuery != "" {
				t.Errorf("%s: %s: lab links are http://127.0.0.1:8080/ with the view in the fragment (#preset=…)", p, u)
				continue
			}
			v := ui.ParseView(pu.Fragment)
			if v.Encode() != pu.Fragment {
				t.Errorf("%s: %s: the lab reads the fragment as %q: a key or value is not understood", p, u, v.Encode())
			}
			if v.Preset == "" {
				continue
			}
			if !slices.Contains(lab.PresetNames(), v.Preset) {
				t.Errorf("%s: %s: no built-in preset %q (%v)", p, u, v.Preset, lab.PresetNames())
				continue
			}
			pr, err := lab.ReadPreset(v.Preset)
			if err != nil {
				t.Fatal(err)
			}
			if v.Label != "" && !slices.Contains(labelsOf(pr.Dataset), v.Label) {
				t.Errorf("%s: %s: dataset %s has no label set %q", p, u, pr.Dataset, v.Label)
			}
		}
	}
}
