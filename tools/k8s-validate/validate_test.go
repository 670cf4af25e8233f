package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testMetrics stands for the names deploy/validate extracts from the C
// sources.
var testMetrics = map[string]bool{
	"quakecast_dispatchers_desired": true,
	"quakecast_jobs_active":         true,
}

// Every file in testdata/good must pass untouched.
func TestGood(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/good files")
	}
	for _, f := range files {
		res := validateFiles([]string{f}, testMetrics, []string{"Deployment:web", "PodDisruptionBudget:web"})
		for _, e := range res.errs {
			t.Errorf("%s: unexpected: %s", f, e)
		}
	}
}

// Every file in testdata/bad must fail with each message its "# want:"
// lines name, validated on its own.
func TestBad(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/bad files")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wants []string
		for _, line := range strings.Split(string(data), "\n") {
			if w, ok := strings.CutPrefix(line, "# want: "); ok {
				wants = append(wants, w)
			}
		}
		if len(wants) == 0 {
			t.Errorf("%s: no '# want:' line", f)
			continue
		}
		res := validateFiles([]string{f}, testMetrics, nil)
		all := strings.Join(res.errs, "\n")
		for _, w := range wants {
			if !strings.Contains(all, w) {
				t.Errorf("%s: no error containing %q; got:\n%s", f, w, all)
			}
		}
	}
}

func TestRequire(t *testing.T) {
	res := validateFiles([]string{"testdata/good/all-kinds.yaml"}, nil, []string{"HorizontalPodAutoscaler:dispatcher"})
	if len(res.errs) != 1 || !strings.Contains(res.errs[0], `no HorizontalPodAutoscaler for component "dispatcher"`) {
		t.Errorf("want one missing-HPA error, got %q", res.errs)
	}
}

func TestBalanced(t *testing.T) {
	for s, want := range map[string]bool{
		`sum(rate(x{a="b"}[5m])) > 0`: true,
		`sum(rate(x{a="b"}[5m]) > 0`:  false,
		`x{a="}"}`:                    true,
		`x{a="b}`:                     false,
	} {
		if got := balanced(s); got != want {
			t.Errorf("balanced(%q) = %v, want %v", s, got, want)
		}
	}
}
