package replication

import (
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/store"
)

// Replication statuses (ECR's ReplicationStatus).
const (
	InProgress = "IN_PROGRESS"
	Complete   = "COMPLETE"
	Failed     = "FAILED"
)

// Failure codes Berth reports in an image's replication status.
const (
	// FailureAccessDenied: the destination registry's policy does not let
	// the source account replicate into it (ecr:ReplicateImage, and
	// ecr:CreateRepository for a new repository), or a remote refused the
	// credentials.
	FailureAccessDenied = "ACCESS_DENIED"
	// FailureTagImmutable: a tag exists in the destination repository on
	// another image and the repository's tags are immutable.
	FailureTagImmutable = "IMAGE_TAG_IMMUTABLE"
	// FailureUnreachable: the remote Berth did not answer (down, timed
	// out, or failing with 5xx); it is retried with backoff.
	FailureUnreachable = "DESTINATION_UNREACHABLE"
	// FailureAccountMismatch: the remote's credentials act in another
	// account than the destination's registryId.
	FailureAccountMismatch = "DESTINATION_ACCOUNT_MISMATCH"
	// FailureRejected: the destination refused the image (an invalid
	// manifest, a limit).
	FailureRejected = "IMAGE_REJECTED"
	// FailureInternal: this server failed (its store or disk).
	FailureInternal = "INTERNAL_ERROR"
)

// DestinationStatus is an image's replication to one destination.
type DestinationStatus struct {
	Destination
	Status      string `json:"status"`
	FailureCode string `json:"failureCode,omitempty"`
	// Tags are the tags the destination has been given.
	Tags        []string  `json:"tags,omitempty"`
	Attempts    int       `json:"attempts,omitempty"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	// Retry is false once a failure is final (until the next push).
	Retry     bool      `json:"retry,omitempty"`
	LastError string    `json:"lastError,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// pendingWork reports whether the destination still needs an attempt.
func (d DestinationStatus) pendingWork() bool {
	return d.Status == InProgress || (d.Status == Failed && d.Retry)
}

// record is an image's replication status across destinations.
type record struct {
	Repo         string              `json:"repository"`
	Digest       digest.Digest       `json:"digest"`
	Destinations []DestinationStatus `json:"destinations"`
	// Gen counts the events (pushes, tag changes) seen for the image, so a
	// worker that finishes after a newer event knows its result is stale.
	Gen       int       `json:"gen"`
	CreatedAt time.Time `json:"createdAt"`
}

func (r *record) dest(d Destination) *DestinationStatus {
	for i := range r.Destinations {
		if r.Destinations[i].Destination == d {
			return &r.Destinations[i]
		}
	}
	return nil
}

// nextAttempt is the earliest attempt any destination waits for; zero
// when none needs work.
func (r *record) nextAttempt() (time.Time, bool) {
	var next time.Time
	found := false
	for _, d := range r.Destinations {
		if !d.pendingWork() {
			continue
		}
		if !found || d.NextAttempt.Before(next) {
			next, found = d.NextAttempt, true
		}
	}
	return next, found
}

func statusID(repo string, d digest.Digest) string { return repo + "@" + d.String() }

func queueID(repo registry.Repo, d digest.Digest) string {
	return repo.Account + "/" + repo.Region + "/" + statusID(repo.Name, d)
}

// parseQueueID splits a queue id into the source repository and digest.
func parseQueueID(id string) (registry.Repo, digest.Digest, bool) {
	parts := strings.SplitN(id, "/", 3)
	if len(parts) != 3 {
		return registry.Repo{}, "", false
	}
	name, d, ok := strings.Cut(parts[2], "@")
	if !ok || digest.Digest(d).Validate() != nil {
		return registry.Repo{}, "", false
	}
	return registry.Repo{Account: parts[0], Region: parts[1], Name: name}, digest.Digest(d), true
}

type queueEntry struct {
	NextAttempt time.Time `json:"nextAttempt"`
}

func getRecord(tx store.Tx, repo registry.Repo, d digest.Digest) (*record, error) {
	var rec record
	if err := store.ReadDoc(tx, kindStatus, repo.Account, repo.Region, statusID(repo.Name, d), &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// putRecord writes a record and keeps its queue entry in step: present
// while a destination needs work, at the earliest attempt.
func putRecord(tx store.Tx, repo registry.Repo, rec *record, now time.Time) error {
	if err := store.PutDoc(tx, kindStatus, repo.Account, repo.Region, statusID(repo.Name, rec.Digest), rec, now); err != nil {
		return err
	}
	qid := queueID(repo, rec.Digest)
	next, ok := rec.nextAttempt()
	if !ok {
		return store.DeleteDoc(tx, kindQueue, globalNS, globalNS, qid)
	}
	return store.PutDoc(tx, kindQueue, globalNS, globalNS, qid, queueEntry{NextAttempt: next}, now)
}

// dropRecord removes an image's record and queue entry (the image is
// gone).
func dropRecord(tx store.Tx, repo registry.Repo, d digest.Digest) error {
	for _, k := range []struct{ kind, account, region, id string }{
		{kindStatus, repo.Account, repo.Region, statusID(repo.Name, d)},
		{kindQueue, globalNS, globalNS, queueID(repo, d)},
	} {
		if err := store.DeleteDoc(tx, k.kind, k.account, k.region, k.id); err != nil {
			return err
		}
	}
	return nil
}

// covers reports whether every tag of tags is in have.
func covers(have, tags []string) bool {
	for _, t := range tags {
		if !slices.Contains(have, t) {
			return false
		}
	}
	return true
}
