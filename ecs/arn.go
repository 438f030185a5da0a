package ecs

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/awsapi"
)

// ARNs have AWS's current ("long") formats:
//
//	arn:aws:ecs:<region>:<account>:cluster/<name>
//	arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>
//	arn:aws:ecs:<region>:<account>:task/<cluster>/<32 hex>
//	arn:aws:ecs:<region>:<account>:container-instance/<cluster>/<32 hex>
//	arn:aws:ecs:<region>:<account>:container/<cluster>/<task id>/<uuid>

// partition is the ARN partition of a region, so that China and GovCloud
// regions name their resources as AWS does there.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func (sc scope) arn(resource string) string {
	return "arn:" + partition(sc.region) + ":ecs:" + sc.region + ":" + sc.account + ":" + resource
}

func (sc scope) clusterARN(name string) string { return sc.arn("cluster/" + name) }

func (sc scope) taskDefARN(family string, rev int) string {
	return sc.arn("task-definition/" + family + ":" + strconv.Itoa(rev))
}

func (sc scope) taskARN(cluster, id string) string { return sc.arn("task/" + cluster + "/" + id) }

func (sc scope) instanceARN(cluster, id string) string {
	return sc.arn("container-instance/" + cluster + "/" + id)
}

func (sc scope) containerARN(cluster, taskID, uuid string) string {
	return sc.arn("container/" + cluster + "/" + taskID + "/" + uuid)
}

func (sc scope) rootPrincipal() string {
	return "arn:" + partition(sc.region) + ":iam::" + sc.account + ":root"
}

// parsedARN is an ECS ARN split into its parts.
type parsedARN struct {
	region, account string
	kind            string // cluster, task-definition, task, container-instance, ...
	rest            string // what follows "<kind>/"
}

// parseARN splits an ECS ARN; ok is false for anything else.
func parseARN(s string) (parsedARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" {
		return parsedARN{}, false
	}
	kind, rest, ok := strings.Cut(parts[5], "/")
	if !ok || kind == "" || rest == "" {
		return parsedARN{}, false
	}
	return parsedARN{region: parts[3], account: parts[4], kind: kind, rest: rest}, true
}

// inScope reports whether the ARN names a resource of the caller's account
// and region; resources elsewhere are invisible, as without cross-account
// permissions on AWS.
func (p parsedARN) inScope(sc scope) bool { return p.region == sc.region && p.account == sc.account }

// The length is checked apart: a {1,255} bound compiles into 255 copies of
// the class, paid at every start.
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// validName is the rule for cluster names, task definition families and
// container names: up to 255 letters, digits, hyphens and underscores.
func validName(s string) bool { return len(s) <= 255 && namePattern.MatchString(s) }

// clusterRef resolves the cluster parameter of a request (a short name or an
// ARN; empty means "default") to a cluster name. ok is false when an ARN
// names another account or region, or is not a cluster ARN.
func clusterRef(sc scope, ref string) (string, bool) {
	if ref == "" {
		return defaultCluster, true
	}
	if !strings.HasPrefix(ref, "arn:") {
		return ref, true
	}
	p, ok := parseARN(ref)
	if !ok || p.kind != "cluster" || !p.inScope(sc) || strings.Contains(p.rest, "/") {
		return "", false
	}
	return p.rest, true
}

// taskDefRef is a reference to a task definition: a family (latest ACTIVE
// revision), family:revision, or an ARN.
type taskDefRef struct {
	family   string
	revision int // 0: latest ACTIVE
}

func parseTaskDefRef(sc scope, ref string) (taskDefRef, bool) {
	return parseFamilyRef(sc, "task-definition", ref)
}

// parseFamilyRef parses a reference to a revision of a family whose ARNs
// are of kind: task definitions and daemon task definitions.
func parseFamilyRef(sc scope, kind, ref string) (taskDefRef, bool) {
	if strings.HasPrefix(ref, "arn:") {
		p, ok := parseARN(ref)
		if !ok || p.kind != kind || !p.inScope(sc) {
			return taskDefRef{}, false
		}
		ref = p.rest
	}
	family, rev, hasRev := strings.Cut(ref, ":")
	if !validName(family) {
		return taskDefRef{}, false
	}
	if !hasRev {
		return taskDefRef{family: family}, true
	}
	n, err := strconv.Atoi(rev)
	if err != nil || n < 1 {
		return taskDefRef{}, false
	}
	return taskDefRef{family: family, revision: n}, true
}

// idRef resolves a task or container instance reference (an id, or an ARN
// of kind) given the cluster of the request; an ARN brings its own cluster.
func idRef(sc scope, kind, cluster, ref string) (clusterName, id string, ok bool) {
	if !strings.HasPrefix(ref, "arn:") {
		if !isID(ref) {
			return "", "", false
		}
		return cluster, ref, true
	}
	p, ok := parseARN(ref)
	if !ok || p.kind != kind || !p.inScope(sc) {
		return "", "", false
	}
	c, id, found := strings.Cut(p.rest, "/")
	if !found {
		// The old short format (kind/<id>) names no cluster.
		c, id = cluster, p.rest
	}
	if !isID(id) {
		return "", "", false
	}
	return c, id, true
}

// isID accepts the ids Berth makes (32 hex digits) and, leniently, any other
// token without separators, so that a malformed id reads as "not found"
// rather than as a different resource.
func isID(s string) bool {
	return s != "" && len(s) <= 128 && !strings.ContainsAny(s, "/: ")
}

// newID is a task or container instance id: 32 hex digits, as AWS's.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: it crashes the program instead (Go 1.24)
	return hex.EncodeToString(b[:])
}

// newUUID is a random (version 4) UUID, for container ARNs and attachments.
var newUUID = awsapi.NewUUID

// hexN returns n random hex digits (ENI and instance ids).
func hexN(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b) // never fails: it crashes the program instead (Go 1.24)
	return hex.EncodeToString(b)[:n]
}
