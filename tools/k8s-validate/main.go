// Command k8s-validate checks rendered Kubernetes manifests offline, with no
// cluster and no schema download: every document is decoded strictly into
// the typed API object of its apiVersion and kind (k8s.io/api of the pinned
// release, the Prometheus Operator's types, a typed KEDA ScaledObject), so
// an unknown field, a duplicate key, a wrong type or an apiVersion the
// release does not serve is an error; then rules the API server or the
// project would still enforce are checked (see checks.go).
//
//	k8s-validate [-metrics FILE] [-require KIND:COMPONENT]... FILE...
//
// -metrics names a file of metric names (one a line) the binaries export;
// PromQL in rules, dashboards and KEDA queries may read only those.
// -require KIND:COMPONENT demands at least one object of that kind labelled
// app.kubernetes.io/component=COMPONENT (the chart's must-haves).
//
// Exit status: 0 valid, 1 invalid (each problem on its own line), 2 usage.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var requires multiFlag
	metricsFile := flag.String("metrics", "", "file of known metric names, one a line")
	flag.Var(&requires, "require", "KIND:COMPONENT that must be rendered (repeatable)")
	quiet := flag.Bool("q", false, "print nothing when valid")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: k8s-validate [-q] [-metrics FILE] [-require KIND:COMPONENT]... FILE...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var metrics map[string]bool
	if *metricsFile != "" {
		m, err := readLines(*metricsFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "k8s-validate: %v\n", err)
			os.Exit(2)
		}
		metrics = m
	}
	for _, r := range requires {
		if !strings.Contains(r, ":") {
			fmt.Fprintf(os.Stderr, "k8s-validate: -require %q: expected KIND:COMPONENT\n", r)
			os.Exit(2)
		}
	}
	res := validateFiles(flag.Args(), metrics, requires)
	for _, e := range res.errs {
		fmt.Println(e)
	}
	if len(res.errs) > 0 {
		fmt.Printf("k8s-validate: %d problem(s) in %d document(s) (Kubernetes %s)\n",
			len(res.errs), res.ndocs, KubernetesVersion)
		os.Exit(1)
	}
	if !*quiet {
		fmt.Printf("k8s-validate: %d document(s) valid against Kubernetes %s: %s\n",
			res.ndocs, KubernetesVersion, summary(res.kinds))
	}
}

type result struct {
	errs  []string
	ndocs int
	kinds map[string]int
}

// validateFiles is the whole check, apart from printing (tests call it).
func validateFiles(files []string, metrics map[string]bool, requires []string) result {
	res := result{kinds: map[string]int{}}
	dc := newDecoder()
	var docs []*doc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			res.errs = append(res.errs, err.Error())
			continue
		}
		parts, err := splitYAML(data)
		if err != nil {
			res.errs = append(res.errs, fmt.Sprintf("%s: not YAML: %v", f, err))
			continue
		}
		n := 0
		for _, p := range parts {
			if isBlank(p) {
				continue
			}
			n++
			d := &doc{file: f, index: n}
			for _, m := range dc.decode(d, p) {
				res.errs = append(res.errs, d.String()+": "+m)
			}
			docs = append(docs, d)
			res.kinds[d.gvk.Kind]++
		}
	}
	res.ndocs = len(docs)
	c := &checker{docs: docs, metrics: metrics}
	c.run()
	res.errs = append(res.errs, c.errs...)
	for _, r := range requires {
		kind, component, _ := strings.Cut(r, ":")
		if !hasComponent(docs, kind, component) {
			res.errs = append(res.errs, fmt.Sprintf("required: no %s for component %q in %s",
				kind, component, strings.Join(files, ", ")))
		}
	}
	return res
}

func hasComponent(docs []*doc, kind, component string) bool {
	for _, d := range docs {
		if d.gvk.Kind != kind || d.obj == nil {
			continue
		}
		if m := metaOf(d.obj); m != nil && m.Labels["app.kubernetes.io/component"] == component {
			return true
		}
	}
	return false
}

func readLines(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			out[t] = true
		}
	}
	return out, sc.Err()
}

func summary(kinds map[string]int) string {
	var parts []string
	for k, n := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
