// Package fargate runs an EKS cluster's Fargate pods: a mutating admission
// webhook gives pods that match an ACTIVE Fargate profile the scheduler
// fargate-scheduler (as EKS's does), and a scheduler of that name starts one
// node per such pod, binds the pod to it and removes the node when the pod
// ends. The nodes are package nodes' virtual-kubelet nodes, so the pods run
// as containers on Berth's runtime like those of node groups.
package fargate

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/berth-dev/berth/awsapi/wildcard"
)

// Names EKS uses, which users' manifests and tools look for.
const (
	SchedulerName      = "fargate-scheduler"
	ProfileLabel       = "eks.amazonaws.com/fargate-profile"
	ComputeTypeLabel   = "eks.amazonaws.com/compute-type"
	ComputeType        = "fargate"
	CapacityAnnotation = "CapacityProvisioned"
)

// Profile is a Fargate profile as Berth hands it to the control plane: the
// file ProfilesFile holds a JSON array of them (eks/k8sproc writes it).
type Profile struct {
	Name                string     `json:"name"`
	PodExecutionRoleARN string     `json:"podExecutionRoleArn,omitempty"`
	Selectors           []Selector `json:"selectors"`
}

// Selector matches pods by namespace and labels; both may use the
// wildcards * (any run of characters) and ? (one character), as EKS's.
type Selector struct {
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// ProfilesFile is the file, in berth-k8s's data dir, that lists the
// cluster's ACTIVE profiles; LoadedFile is where berth-k8s copies it once
// the webhook applies it, so Berth can tell a profile is in effect before
// it reports it ACTIVE.
const (
	ProfilesFile = "fargate-profiles.json"
	LoadedFile   = "fargate-profiles.loaded"
)

// ParseProfiles reads a profiles file's content, ordered by name: EKS
// checks profiles in alphabetical order and the first match wins.
func ParseProfiles(data []byte) ([]Profile, error) {
	var ps []Profile
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := json.Unmarshal(data, &ps); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(ps, func(a, b Profile) int { return strings.Compare(a.Name, b.Name) })
	return ps, nil
}

// Match is the profile a new pod in namespace with labels runs under, if
// any. A pod that names a profile in its eks.amazonaws.com/fargate-profile
// label runs under that one only, and only if one of its selectors
// matches; otherwise the first profile (by name) with a matching selector
// wins.
func Match(profiles []Profile, namespace string, labels map[string]string) (string, bool) {
	want, named := labels[ProfileLabel]
	for _, p := range profiles {
		if named && p.Name != want {
			continue
		}
		for _, s := range p.Selectors {
			if s.matches(namespace, labels) {
				return p.Name, true
			}
		}
	}
	return "", false
}

func (s Selector) matches(namespace string, labels map[string]string) bool {
	if !glob(s.Namespace, namespace) {
		return false
	}
	for k, v := range s.Labels {
		if !labelMatches(k, v, labels) {
			return false
		}
	}
	return true
}

// labelMatches reports whether some label of the pod matches the
// selector's key and value patterns.
func labelMatches(key, value string, labels map[string]string) bool {
	if v, ok := labels[key]; ok {
		return glob(value, v)
	}
	if !strings.ContainsAny(key, "*?") {
		return false
	}
	for k, v := range labels {
		if glob(key, k) && glob(value, v) {
			return true
		}
	}
	return false
}

// glob matches s against pattern as EKS reads profile selectors: * is any
// run of characters and ? one character, nothing else is special.
func glob(pattern, s string) bool { return wildcard.Match([]rune(pattern), []rune(s)) }
