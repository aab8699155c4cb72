package api

import (
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
)

// DefaultMLDenyList names Go machine-learning libraries the warehouse must
// never link: it serves precomputed forecasts and never trains or runs a
// model. A module matches an entry equal to its path or a parent path of
// it (gorgonia.org matches gorgonia.org/gorgonia). Numeric libraries such
// as gonum are not ML libraries and are not listed.
var DefaultMLDenyList = []string{
	"gorgonia.org",
	"github.com/gorgonia",
	"github.com/chewxy/gorgonia",
	"github.com/sjwhitworth/golearn",
	"github.com/tensorflow/tensorflow",
	"github.com/galeone/tfgo",
	"github.com/owulveryck/onnx-go",
	"github.com/yalue/onnxruntime_go",
	"github.com/pa-m/sklearn",
	"github.com/cdipaolo/goml",
	"github.com/patrikeh/go-deep",
	"github.com/nlpodyssey/spago",
	"github.com/sugarme/gotch",
	"github.com/wangkuiyi/gotorch",
	"github.com/knights-analytics/hugot",
	"github.com/dmitryikh/leaves",
	"github.com/sajari/regression",
	"github.com/malaschitz/randomForest",
	"github.com/fxsjy/RF.go",
	"github.com/e-XpertSolutions/go-iforest",
	"github.com/aunum/gold",
	"github.com/go-skynet/go-llama.cpp",
	"github.com/LdDl/go-darknet",
	"github.com/c-bata/goptuna",
	"github.com/goml/gobrain",
	"github.com/jbrukh/bayesian",
	"github.com/navossoc/bayesian",
	"github.com/mash/gokmeans",
	"github.com/muesli/kmeans",
}

// MLReport is the ml_dependencies object of GET /health.
type MLReport struct {
	Status          string   `json:"status"` // "ok", "violation" or "unknown"
	Message         string   `json:"message"`
	CheckedPackages []string `json:"checked_packages,omitzero"` // GET /health: with the API token only
	Violations      []string `json:"violations,omitzero"`       // GET /health: with the API token only
}

// CheckMLDependencies compares the modules of a build (the running binary's
// when bi comes from debug.ReadBuildInfo) with deny. ok is false when no
// build information is available.
func CheckMLDependencies(bi *debug.BuildInfo, ok bool, deny []string) MLReport {
	rep := MLReport{CheckedPackages: []string{}, Violations: []string{}}
	if !ok || bi == nil {
		rep.Status = "unknown"
		rep.Message = "the binary carries no module information (runtime/debug.ReadBuildInfo failed)"
		return rep
	}
	mods := make([]*debug.Module, 0, len(bi.Deps)+1)
	if bi.Main.Path != "" {
		mods = append(mods, &bi.Main)
	}
	mods = append(mods, bi.Deps...)
	for _, m := range mods {
		if m == nil {
			continue
		}
		paths := []string{m.Path}
		if m.Replace != nil && m.Replace.Path != "" && m.Replace.Path != m.Path {
			paths = append(paths, m.Replace.Path)
		}
		name := m.Path
		if m.Version != "" {
			name += "@" + m.Version
		}
		rep.CheckedPackages = append(rep.CheckedPackages, name)
		for _, p := range paths {
			if d, bad := denied(p, deny); bad {
				rep.Violations = append(rep.Violations, fmt.Sprintf("%s (deny-listed: %s)", p, d))
			}
		}
	}
	sort.Strings(rep.CheckedPackages)
	if len(rep.Violations) > 0 {
		rep.Status = "violation"
		rep.Message = fmt.Sprintf("%d machine-learning module(s) linked into the binary; novawh must not embed ML libraries", len(rep.Violations))
		return rep
	}
	rep.Status = "ok"
	rep.Message = fmt.Sprintf("no machine-learning library among %d modules (deny-list of %d)", len(rep.CheckedPackages), len(deny))
	return rep
}

func denied(path string, deny []string) (string, bool) {
	p := strings.ToLower(path)
	for _, d := range deny {
		d = strings.ToLower(strings.TrimSuffix(d, "/"))
		if p == d || strings.HasPrefix(p, d+"/") {
			return d, true
		}
	}
	return "", false
}
