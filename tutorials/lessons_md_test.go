package tutorials

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A lesson file and the parts of it the tests check.
type lesson struct {
	Path     string
	Text     string
	Commands []command // shell lines of ```sh blocks, in order
	Blocks   []block   // every fenced block
}

type command struct {
	Line int
	Text string
}

type block struct {
	Line int    // of the opening fence
	Info string // the fence's info string: sh, python, yaml…
	Body string
}

// lessonPaths lists the Markdown files of this directory: the numbered
// lessons, TEACHING.md and README.md.
func lessonPaths(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("*.md")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no lessons found (%v)", err)
	}
	slices.Sort(paths)
	return paths
}

// numbered reports whether path is a lesson (NN-name.md).
func numbered(path string) bool {
	return regexp.MustCompile(`^\d\d-[a-z0-9-]+\.md$`).MatchString(filepath.Base(path))
}

func readLesson(t *testing.T, path string) lesson {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l := lesson{Path: path, Text: string(raw)}
	sc := bufio.NewScanner(strings.NewReader(l.Text))
	var cur *block
	var body []string
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "```") {
			if cur == nil {
				cur = &block{Line: n, Info: strings.TrimSpace(strings.TrimPrefix(trim, "```"))}
				body = nil
				continue
			}
			cur.Body = strings.Join(body, "\n") + "\n"
			l.Blocks = append(l.Blocks, *cur)
			cur = nil
			continue
		}
		if cur == nil {
			continue
		}
		body = append(body, line)
		if cur.Info == "sh" && trim != "" && !strings.HasPrefix(trim, "#") {
			l.Commands = append(l.Commands, command{Line: n, Text: trim})
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: code block never closed", path, cur.Line)
	}
	return l
}

// TestLessonStructure checks that every lesson has the sections a class
// relies on, in order, and states when and where its numbers were measured.
func TestLessonStructure(t *testing.T) {
	sections := []string{"## Goal", "## The idea", "## Run it", "## What to watch", "## Questions", "## Expected results"}
	found := 0
	for _, p := range lessonPaths(t) {
		if !numbered(p) {
			continue
		}
		found++
		l := readLesson(t, p)
		at := 0
		for _, s := range sections {
			i := strings.Index(l.Text[at:], "\n"+s)
			if i < 0 {
				t.Errorf("%s: no section %q after the previous one", p, s)
				continue
			}
			at += i + 1
		}
		if !strings.HasPrefix(l.Text, "# ") {
			t.Errorf("%s: want a title (# …) on the first line", p)
		}
		if !strings.Contains(l.Text, "Measured on") {
			t.Errorf("%s: the expected results must say when and on what they were measured (\"Measured on …\")", p)
		}
		if len(l.Commands) == 0 {
			t.Errorf("%s: no commands in ```sh blocks", p)
		}
	}
	if found < 6 {
		t.Errorf("%d lessons, want at least 6", found)
	}
}

// TestLessonTestReferences checks that every `go test ./tutorials/ -run X`
// a lesson mentions in its text names tests that exist.
func TestLessonTestReferences(t *testing.T) {
	re := regexp.MustCompile("go test ./tutorials/? -run ([A-Za-z0-9_|]+)")
	names := testNames(t)
	for _, p := range lessonPaths(t) {
		l := readLesson(t, p)
		for _, m := range re.FindAllStringSubmatch(l.Text, -1) {
			for _, alt := range strings.Split(m[1], "|") {
				if !slices.ContainsFunc(names, regexp.MustCompile(alt).MatchString) {
					t.Errorf("%s: `go test -run %s` matches no test of this package", p, alt)
				}
			}
		}
	}
}
