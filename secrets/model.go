package secrets

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	smapi "github.com/berth-dev/berth/api/secretsmanager"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// secretDoc is a secret as stored.
type secretDoc struct {
	Name        string  `json:"name"`
	ARN         string  `json:"arn"`
	Description *string `json:"description,omitempty"`
	KmsKeyID    *string `json:"kmsKeyId,omitempty"`
	Type        *string `json:"type,omitempty"`
	Tags        []tag   `json:"tags,omitempty"`
	// Tagged is whether the secret has ever had tags: from then on AWS
	// answers Tags, an empty list once every tag is removed.
	Tagged         bool       `json:"tagged,omitempty"`
	ResourcePolicy *string    `json:"resourcePolicy,omitempty"`
	Created        time.Time  `json:"created"`
	LastChanged    time.Time  `json:"lastChanged"`
	LastAccessed   *time.Time `json:"lastAccessed,omitempty"`
	// Deleted is when DeleteSecret scheduled the deletion; DeletionDate is
	// when the recovery window ends and the secret is gone for good.
	Deleted      *time.Time `json:"deleted,omitempty"`
	DeletionDate *time.Time `json:"deletionDate,omitempty"`
	// Versions in creation order.
	Versions []versionMeta `json:"versions,omitempty"`
	// Rotation is nil until RotateSecret first configures rotation; AWS
	// leaves the rotation fields out of DescribeSecret until then.
	Rotation *rotationDoc `json:"rotation,omitempty"`
}

// rotationDoc is a secret's rotation configuration. CancelRotateSecret
// clears Enabled but keeps the rest, as AWS does.
type rotationDoc struct {
	Enabled      bool       `json:"enabled"`
	LambdaARN    *string    `json:"lambdaArn,omitempty"`
	AfterDays    *int64     `json:"afterDays,omitempty"`
	Duration     *string    `json:"duration,omitempty"`
	ScheduleExpr *string    `json:"scheduleExpression,omitempty"`
	LastRotated  *time.Time `json:"lastRotated,omitempty"`
	NextRotation *time.Time `json:"nextRotation,omitempty"`
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// versionMeta is a version as the secret lists it; its value is stored
// apart (valueDoc).
type versionMeta struct {
	ID       string    `json:"id"`
	Stages   []string  `json:"stages,omitempty"`
	Created  time.Time `json:"created"`
	KmsKeyID string    `json:"kmsKeyId,omitempty"`
	// LastAccessed is the day GetSecretValue last read this version.
	LastAccessed *time.Time `json:"lastAccessed,omitempty"`
}

// valueDoc is the value of one version.
type valueDoc struct {
	String *string `json:"string,omitempty"`
	Binary []byte  `json:"binary,omitempty"`
}

func (v valueDoc) equal(s *string, b []byte) bool {
	if (v.String == nil) != (s == nil) || (v.String != nil && *v.String != *s) {
		return false
	}
	return bytes.Equal(v.Binary, b)
}

// maxVersions is how many versions a secret keeps: beyond it the oldest
// versions without a staging label are removed, as AWS does.
const maxVersions = 100

// scheduled reports whether the secret is marked for deletion.
func (d *secretDoc) scheduled() bool { return d.Deleted != nil }

// expired reports whether the secret's recovery window is over: it no
// longer exists, whether or not the purge has removed it yet.
func (d *secretDoc) expired(now time.Time) bool {
	return d.DeletionDate != nil && !now.Before(*d.DeletionDate)
}

func (d *secretDoc) version(id string) *versionMeta {
	for i := range d.Versions {
		if d.Versions[i].ID == id {
			return &d.Versions[i]
		}
	}
	return nil
}

func (d *secretDoc) versionWithStage(stage string) *versionMeta {
	for i := range d.Versions {
		if slices.Contains(d.Versions[i].Stages, stage) {
			return &d.Versions[i]
		}
	}
	return nil
}

// stagesMap is VersionIdsToStages: the versions that carry a label.
func (d *secretDoc) stagesMap() map[string][]string {
	if len(d.Versions) == 0 {
		// A secret created without a value has no versions, and AWS
		// leaves the member out rather than answering an empty map.
		return nil
	}
	m := map[string][]string{}
	for _, v := range d.Versions {
		if len(v.Stages) > 0 {
			m[v.ID] = stageList(v.Stages)
		}
	}
	return m
}

// stageList is a version's labels as AWS answers them: sorted, whatever
// order they were attached in; nil for a version without labels, which
// AWS leaves the member out for.
func stageList(stages []string) []string {
	if len(stages) == 0 {
		return nil
	}
	out := slices.Clone(stages)
	slices.Sort(out)
	return out
}

// moveStage attaches stage to the version to, taking it from whichever
// version has it. Moving AWSCURRENT leaves AWSPREVIOUS on the version that
// had it, as Secrets Manager does.
func (d *secretDoc) moveStage(stage, to string) {
	var from string
	for i := range d.Versions {
		v := &d.Versions[i]
		if v.ID != to && slices.Contains(v.Stages, stage) {
			from = v.ID
			v.Stages = slices.DeleteFunc(v.Stages, func(s string) bool { return s == stage })
		}
	}
	if t := d.version(to); t != nil && !slices.Contains(t.Stages, stage) {
		t.Stages = append(t.Stages, stage)
	}
	if stage == StageCurrent && from != "" {
		d.moveStage(StagePrevious, from)
	}
}

// prune removes the oldest versions without a label while the secret has
// more than maxVersions, and returns the ids removed.
func (d *secretDoc) prune() []string {
	var removed []string
	for len(d.Versions) > maxVersions {
		i := slices.IndexFunc(d.Versions, func(v versionMeta) bool { return len(v.Stages) == 0 })
		if i < 0 {
			break
		}
		removed = append(removed, d.Versions[i].ID)
		d.Versions = slices.Delete(d.Versions, i, i+1)
	}
	return removed
}

func versionKey(name, versionID string) string { return name + "#" + versionID }

// --- store access ---

func getSecret(tx store.Tx, c caller, name string) (*secretDoc, error) {
	var d secretDoc
	if err := store.ReadDoc(tx, KindSecret, c.Account, c.Region, name, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func putSecret(tx store.Tx, c caller, d *secretDoc, now time.Time) error {
	return store.PutDoc(tx, KindSecret, c.Account, c.Region, d.Name, d, now)
}

func getValue(tx store.Tx, c caller, name, versionID string) (valueDoc, error) {
	var v valueDoc
	err := store.ReadDoc(tx, KindVersion, c.Account, c.Region, versionKey(name, versionID), &v)
	return v, err
}

func putValue(tx store.Tx, c caller, name, versionID string, v valueDoc, now time.Time) error {
	return store.PutDoc(tx, KindVersion, c.Account, c.Region, versionKey(name, versionID), v, now)
}

func deleteValue(tx store.Tx, c caller, name, versionID string) error {
	return store.DeleteDoc(tx, KindVersion, c.Account, c.Region, versionKey(name, versionID))
}

// purge removes a secret and every value it has.
func purge(tx store.Tx, c caller, d *secretDoc) error {
	for _, v := range d.Versions {
		if err := deleteValue(tx, c, d.Name, v.ID); err != nil {
			return err
		}
	}
	// Values of versions no longer listed (none are expected) go too.
	rest, err := tx.ListResources(KindVersion, c.Account, c.Region, d.Name+"#", store.Page{})
	if err != nil {
		return err
	}
	for _, r := range rest {
		if err := store.DeleteDoc(tx, KindVersion, c.Account, c.Region, r.ID); err != nil {
			return err
		}
	}
	return store.DeleteDoc(tx, KindSecret, c.Account, c.Region, d.Name)
}

// --- names and lookups ---

var namePattern = regexp.MustCompile(`^[A-Za-z0-9/_+=.@!-]+$`)

func invalidName() error {
	return awsapi.Errorf(awsapi.CodeValidation, "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
}

func secretNotFound() error {
	return smapi.NewResourceNotFoundException("Secrets Manager can't find the specified secret.")
}

func markedForDeletion() error {
	return smapi.NewInvalidRequestException("You can't perform this operation on the secret because it was marked for deletion.")
}

var arnSuffix = regexp.MustCompile(`^(.+)-[A-Za-z0-9]{6}$`)

// ParsedARN is a Secrets Manager secret ARN taken apart.
type ParsedARN struct {
	Region, Account string
	// Name is what follows "secret:": the name with its random suffix for
	// a full ARN, the bare name for a partial one.
	Name string
}

// ParseARN takes a secret ARN apart; ok is false when s is not one.
func ParseARN(s string) (ParsedARN, bool) {
	parts := strings.SplitN(s, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[1] == "" || parts[2] != "secretsmanager" || parts[5] != "secret" || parts[6] == "" {
		return ParsedARN{}, false
	}
	return ParsedARN{Region: parts[3], Account: parts[4], Name: parts[6]}, true
}

// find resolves a SecretId (name, full ARN or partial ARN) to the stored
// secret of the caller. A secret whose recovery window is over is not
// found. It does not check whether the secret is marked for deletion.
func find(tx store.Tx, c caller, id string, now time.Time) (*secretDoc, error) {
	var d *secretDoc
	var err error
	if strings.HasPrefix(id, "arn:") {
		a, ok := ParseARN(id)
		if !ok || a.Account != c.Account || a.Region != c.Region {
			return nil, secretNotFound()
		}
		// A full ARN names the secret with its suffix; a partial one
		// without. A name may itself end like a suffix, so try both.
		if m := arnSuffix.FindStringSubmatch(a.Name); m != nil {
			d, err = getSecret(tx, c, m[1])
			if err == nil && d.ARN != id {
				d, err = nil, store.ErrNotFound
			}
		}
		if d == nil {
			d, err = getSecret(tx, c, a.Name)
		}
	} else {
		if !namePattern.MatchString(id) {
			return nil, invalidName()
		}
		d, err = getSecret(tx, c, id)
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && d.expired(now)) {
		return nil, secretNotFound()
	}
	return d, err
}

// findLive is find for operations refused on a secret marked for deletion.
func findLive(tx store.Tx, c caller, id string, now time.Time) (*secretDoc, error) {
	d, err := find(tx, c, id, now)
	if err == nil && d.scheduled() {
		return nil, markedForDeletion()
	}
	return d, err
}

// --- conversions ---

func toAPITags(ts []tag) []smapi.Tag {
	if len(ts) == 0 {
		return nil
	}
	out := make([]smapi.Tag, len(ts))
	for i, t := range ts {
		out[i] = smapi.Tag{Key: ptr(t.Key), Value: ptr(t.Value)}
	}
	return out
}

// apiTags is the secret's Tags member.
func (d *secretDoc) apiTags() []smapi.Tag {
	if out := toAPITags(d.Tags); out != nil || !d.Tagged {
		return out
	}
	return []smapi.Tag{}
}

// nonEmpty is s, or nil when it is empty: AWS leaves an empty Description
// out of its answers.
func nonEmpty(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

// mergeTags sets each tag of add on ts, replacing the value of a key that
// is already there.
func mergeTags(ts []tag, add []smapi.Tag) []tag {
	for _, a := range add {
		k, v := deref(a.Key), deref(a.Value)
		if i := slices.IndexFunc(ts, func(t tag) bool { return t.Key == k }); i >= 0 {
			ts[i].Value = v
		} else {
			ts = append(ts, tag{Key: k, Value: v})
		}
	}
	return ts
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ts(t time.Time) *awsapi.Timestamp { return awsapi.Time(t) }

func tsp(t *time.Time) *awsapi.Timestamp {
	if t == nil {
		return nil
	}
	return awsapi.Time(*t)
}
