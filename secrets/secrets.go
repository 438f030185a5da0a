package secrets

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	smapi "github.com/berth-dev/berth/api/secretsmanager"
	"github.com/berth-dev/berth/store"
)

func bothValues() error {
	return smapi.NewInvalidParameterException("You can't specify both a binary secret value and a string secret value in the same secret.")
}

// addVersion stores a new version of d with the given value and attaches
// stages to it. It handles ClientRequestToken idempotency: when token
// names an existing version with the same value, nothing changes and
// created is false; with another value it is ResourceExistsException.
func addVersion(tx store.Tx, c caller, d *secretDoc, token *string, str *string, bin []byte, stages []string, now time.Time) (versionID string, created bool, err error) {
	versionID = deref(token)
	if versionID == "" {
		versionID = newUUID()
	}
	if v := d.version(versionID); v != nil {
		val, err := getValue(tx, c, d.Name, versionID)
		if err != nil {
			return "", false, err
		}
		if val.equal(str, bin) {
			return versionID, false, nil
		}
		return "", false, smapi.NewResourceExistsException("You can't use ClientRequestToken %s because that value is already in use for a version of secret %s.", versionID, d.ARN)
	}
	if len(d.Versions) == 0 && !slices.Contains(stages, StageCurrent) {
		// The first version of a secret is always its current one.
		stages = append(slices.Clone(stages), StageCurrent)
	}
	d.Versions = append(d.Versions, versionMeta{ID: versionID, Created: now, KmsKeyID: deref(d.KmsKeyID)})
	for _, st := range stages {
		d.moveStage(st, versionID)
	}
	for _, gone := range d.prune() {
		if err := deleteValue(tx, c, d.Name, gone); err != nil {
			return "", false, err
		}
	}
	if err := putValue(tx, c, d.Name, versionID, valueDoc{String: str, Binary: bin}, now); err != nil {
		return "", false, err
	}
	d.LastChanged = now
	return versionID, true, nil
}

func (s *Service) CreateSecret(ctx context.Context, in *smapi.CreateSecretInput) (*smapi.CreateSecretOutput, error) {
	c := callerOf(ctx)
	name := deref(in.Name)
	if !namePattern.MatchString(name) {
		return nil, invalidName()
	}
	if in.SecretString != nil && in.SecretBinary != nil {
		return nil, bothValues()
	}
	if len(in.AddReplicaRegions) > 0 {
		return nil, smapi.NewInvalidRequestException("Berth does not replicate secrets to other Regions.")
	}
	hasValue := in.SecretString != nil || in.SecretBinary != nil
	now := s.clock()
	out := &smapi.CreateSecretOutput{}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		old, err := getSecret(tx, c, name)
		switch {
		case err == nil && old.expired(now):
			if err := purge(tx, c, old); err != nil {
				return err
			}
		case err == nil && old.scheduled():
			return smapi.NewInvalidRequestException("You can't create this secret because a secret with this name is already scheduled for deletion.")
		case err == nil:
			// A retry of the same request (same token, same value) is
			// answered as the first one was.
			if in.ClientRequestToken != nil && hasValue && old.version(*in.ClientRequestToken) != nil {
				val, err := getValue(tx, c, name, *in.ClientRequestToken)
				if err != nil {
					return err
				}
				if val.equal(in.SecretString, in.SecretBinary) {
					out.ARN, out.Name, out.VersionId = ptr(old.ARN), ptr(old.Name), ptr(*in.ClientRequestToken)
					return nil
				}
			}
			if in.ClientRequestToken != nil && hasValue && old.version(*in.ClientRequestToken) != nil {
				return smapi.NewResourceExistsException("You can't use ClientRequestToken %s because that value is already in use for a version of secret %s.", *in.ClientRequestToken, old.ARN)
			}
			return smapi.NewResourceExistsException("The operation failed because the secret %s already exists.", name)
		case !isNotFound(err):
			return err
		}
		d := &secretDoc{
			Name:        name,
			ARN:         secretARN(c, name, randomSuffix()),
			Description: nonEmpty(in.Description),
			KmsKeyID:    in.KmsKeyId,
			Type:        in.Type,
			Tags:        mergeTags(nil, in.Tags),
			Tagged:      len(in.Tags) > 0,
			Created:     now,
			LastChanged: now,
		}
		out.ARN, out.Name, out.VersionId = ptr(d.ARN), ptr(d.Name), nil
		if hasValue {
			id, _, err := addVersion(tx, c, d, in.ClientRequestToken, in.SecretString, in.SecretBinary, []string{StageCurrent}, now)
			if err != nil {
				return err
			}
			out.VersionId = ptr(id)
		}
		return putSecret(tx, c, d, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) GetSecretValue(ctx context.Context, in *smapi.GetSecretValueInput) (*smapi.GetSecretValueOutput, error) {
	c := callerOf(ctx)
	var out *smapi.GetSecretValueOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		v, err := getSecretValue(tx, c, deref(in.SecretId), deref(in.VersionId), deref(in.VersionStage), s.clock())
		if err != nil {
			return err
		}
		out = &smapi.GetSecretValueOutput{
			ARN: ptr(v.ARN), Name: ptr(v.Name), VersionId: ptr(v.VersionID),
			SecretString: v.String, SecretBinary: v.Binary,
			VersionStages: v.Stages, CreatedDate: ts(v.Created),
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The stamp is bookkeeping: a read that cannot record it still
	// answers the value.
	_ = s.accessed(ctx, c, *out.Name, *out.VersionId)
	return out, nil
}

// accessed records that a version was read today: AWS keeps the date,
// without the time of day, on the secret and the version. The date
// changes once a day, so reads write at most once a day per version.
func (s *Service) accessed(ctx context.Context, c caller, name, versionID string) error {
	now := s.clock()
	day := now.Truncate(24 * time.Hour)
	stale := func(t *time.Time) bool { return t == nil || !t.Equal(day) }
	var d *secretDoc
	if err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		d, err = getSecret(tx, c, name)
		return err
	}); err != nil || d.version(versionID) == nil {
		return err
	}
	if !stale(d.LastAccessed) && !stale(d.version(versionID).LastAccessed) {
		return nil
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getSecret(tx, c, name)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		v := d.version(versionID)
		if v == nil {
			return nil
		}
		d.LastAccessed, v.LastAccessed = &day, &day
		return putSecret(tx, c, d, now)
	})
}

// Value is one version of a secret with its value.
type Value struct {
	ARN, Name, VersionID string
	Stages               []string
	Created              time.Time
	// String or Binary holds the value, as it was stored.
	String *string
	Binary []byte
}

// getSecretValue is GetSecretValue in a transaction: the version with
// versionID and/or stage (AWSCURRENT when neither is given).
func getSecretValue(tx store.Tx, c caller, id, versionID, stage string, now time.Time) (Value, error) {
	d, err := findLive(tx, c, id, now)
	if err != nil {
		return Value{}, err
	}
	var v *versionMeta
	switch {
	case versionID != "":
		if v = d.version(versionID); v == nil {
			return Value{}, smapi.NewResourceNotFoundException("Secrets Manager can't find the specified secret value for VersionId: %s", versionID)
		}
		if stage != "" && !slices.Contains(v.Stages, stage) {
			return Value{}, smapi.NewInvalidRequestException("You provided a VersionStage that is not associated to the provided VersionId.")
		}
	default:
		if stage == "" {
			stage = StageCurrent
		}
		if v = d.versionWithStage(stage); v == nil {
			return Value{}, smapi.NewResourceNotFoundException("Secrets Manager can't find the specified secret value for staging label: %s", stage)
		}
	}
	val, err := getValue(tx, c, d.Name, v.ID)
	if err != nil {
		return Value{}, err
	}
	return Value{
		ARN: d.ARN, Name: d.Name, VersionID: v.ID, Stages: stageList(v.Stages), Created: v.Created,
		String: val.String, Binary: val.Binary,
	}, nil
}

func (s *Service) PutSecretValue(ctx context.Context, in *smapi.PutSecretValueInput) (*smapi.PutSecretValueOutput, error) {
	c := callerOf(ctx)
	if in.SecretString != nil && in.SecretBinary != nil {
		return nil, bothValues()
	}
	if in.SecretString == nil && in.SecretBinary == nil {
		return nil, smapi.NewInvalidRequestException("You must provide either SecretString or SecretBinary.")
	}
	stages := in.VersionStages
	if stages == nil {
		stages = []string{StageCurrent}
	}
	now := s.clock()
	var out *smapi.PutSecretValueOutput
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := findLive(tx, c, deref(in.SecretId), now)
		if err != nil {
			return err
		}
		id, created, err := addVersion(tx, c, d, in.ClientRequestToken, in.SecretString, in.SecretBinary, stages, now)
		if err != nil {
			return err
		}
		out = &smapi.PutSecretValueOutput{ARN: ptr(d.ARN), Name: ptr(d.Name), VersionId: ptr(id), VersionStages: stageList(d.version(id).Stages)}
		if !created {
			return nil
		}
		return putSecret(tx, c, d, now)
	})
	return out, err
}

func (s *Service) UpdateSecret(ctx context.Context, in *smapi.UpdateSecretInput) (*smapi.UpdateSecretOutput, error) {
	c := callerOf(ctx)
	if in.SecretString != nil && in.SecretBinary != nil {
		return nil, bothValues()
	}
	now := s.clock()
	var out *smapi.UpdateSecretOutput
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := findLive(tx, c, deref(in.SecretId), now)
		if err != nil {
			return err
		}
		if in.Description != nil {
			d.Description = nonEmpty(in.Description)
		}
		if in.KmsKeyId != nil {
			d.KmsKeyID = in.KmsKeyId
		}
		if in.Type != nil {
			d.Type = in.Type
		}
		d.LastChanged = now
		out = &smapi.UpdateSecretOutput{ARN: ptr(d.ARN), Name: ptr(d.Name)}
		if in.SecretString != nil || in.SecretBinary != nil {
			id, _, err := addVersion(tx, c, d, in.ClientRequestToken, in.SecretString, in.SecretBinary, []string{StageCurrent}, now)
			if err != nil {
				return err
			}
			out.VersionId = ptr(id)
		}
		return putSecret(tx, c, d, now)
	})
	return out, err
}

func (s *Service) DescribeSecret(ctx context.Context, in *smapi.DescribeSecretInput) (*smapi.DescribeSecretOutput, error) {
	c := callerOf(ctx)
	var out *smapi.DescribeSecretOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, err := find(tx, c, deref(in.SecretId), s.clock())
		if err != nil {
			return err
		}
		out = &smapi.DescribeSecretOutput{
			ARN: ptr(d.ARN), Name: ptr(d.Name), Type: d.Type, Description: d.Description, KmsKeyId: d.KmsKeyID,
			LastChangedDate: ts(d.LastChanged), LastAccessedDate: tsp(d.LastAccessed), DeletedDate: tsp(d.Deleted),
			Tags: d.apiTags(), VersionIdsToStages: d.stagesMap(), CreatedDate: ts(d.Created),
		}
		if r := d.Rotation; r != nil {
			out.RotationEnabled, out.RotationLambdaARN = ptr(r.Enabled), r.LambdaARN
			out.RotationRules = r.rules()
			out.LastRotatedDate, out.NextRotationDate = tsp(r.LastRotated), tsp(r.NextRotation)
		}
		return nil
	})
	return out, err
}

func (s *Service) DeleteSecret(ctx context.Context, in *smapi.DeleteSecretInput) (*smapi.DeleteSecretOutput, error) {
	c := callerOf(ctx)
	force := deref(in.ForceDeleteWithoutRecovery)
	days := int64(30)
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
		if days < 7 || days > 30 {
			return nil, smapi.NewInvalidParameterException("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
		}
	}
	if force && in.RecoveryWindowInDays != nil {
		return nil, smapi.NewInvalidParameterException("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	now := s.clock()
	id := deref(in.SecretId)
	var out *smapi.DeleteSecretOutput
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := find(tx, c, id, now)
		if err != nil {
			if force && isAPICode(err, smapi.CodeResourceNotFoundException) {
				// Forcing the deletion of a secret that does not exist
				// succeeds, as AWS documents.
				out = &smapi.DeleteSecretOutput{ARN: ptr(nonexistentARN(c, id)), Name: ptr(nameOf(id)), DeletionDate: ts(now)}
				return nil
			}
			return err
		}
		out = &smapi.DeleteSecretOutput{ARN: ptr(d.ARN), Name: ptr(d.Name)}
		if force {
			out.DeletionDate = ts(now)
			return purge(tx, c, d)
		}
		if d.scheduled() {
			return markedForDeletion()
		}
		when := now.Add(time.Duration(days) * 24 * time.Hour)
		d.Deleted, d.DeletionDate = ptr(now), ptr(when)
		out.DeletionDate = ts(when)
		return putSecret(tx, c, d, now)
	})
	return out, err
}

// nameOf is the secret name a SecretId names, for answers about secrets
// that do not exist.
func nameOf(id string) string {
	if a, ok := ParseARN(id); ok {
		if m := arnSuffix.FindStringSubmatch(a.Name); m != nil {
			return m[1]
		}
		return a.Name
	}
	return id
}

func nonexistentARN(c caller, id string) string {
	if _, ok := ParseARN(id); ok {
		return id
	}
	return secretARN(c, id, randomSuffix())
}

func (s *Service) RestoreSecret(ctx context.Context, in *smapi.RestoreSecretInput) (*smapi.RestoreSecretOutput, error) {
	c := callerOf(ctx)
	now := s.clock()
	var out *smapi.RestoreSecretOutput
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := find(tx, c, deref(in.SecretId), now)
		if err != nil {
			return err
		}
		out = &smapi.RestoreSecretOutput{ARN: ptr(d.ARN), Name: ptr(d.Name)}
		if !d.scheduled() {
			return nil
		}
		d.Deleted, d.DeletionDate = nil, nil
		d.LastChanged = now
		return putSecret(tx, c, d, now)
	})
	return out, err
}

func (s *Service) TagResource(ctx context.Context, in *smapi.TagResourceInput) (*smapi.TagResourceOutput, error) {
	return &smapi.TagResourceOutput{}, s.updateLive(ctx, deref(in.SecretId), func(d *secretDoc) error {
		d.Tags = mergeTags(d.Tags, in.Tags)
		d.Tagged = d.Tagged || len(in.Tags) > 0
		return nil
	})
}

func (s *Service) UntagResource(ctx context.Context, in *smapi.UntagResourceInput) (*smapi.UntagResourceOutput, error) {
	return &smapi.UntagResourceOutput{}, s.updateLive(ctx, deref(in.SecretId), func(d *secretDoc) error {
		d.Tags = slices.DeleteFunc(d.Tags, func(t tag) bool { return slices.Contains(in.TagKeys, t.Key) })
		return nil
	})
}

// updateLive applies change to a secret not marked for deletion and
// stores it, in one transaction.
func (s *Service) updateLive(ctx context.Context, id string, change func(*secretDoc) error) error {
	c := callerOf(ctx)
	now := s.clock()
	return s.st.Update(ctx, func(tx store.Tx) error {
		d, err := findLive(tx, c, id, now)
		if err != nil {
			return err
		}
		if err := change(d); err != nil {
			return err
		}
		d.LastChanged = now
		return putSecret(tx, c, d, now)
	})
}

func (s *Service) ListSecretVersionIds(ctx context.Context, in *smapi.ListSecretVersionIdsInput) (*smapi.ListSecretVersionIdsOutput, error) {
	c := callerOf(ctx)
	limit := int(deref(in.MaxResults))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	start, err := decodeOffset(in.NextToken)
	if err != nil {
		return nil, err
	}
	var out *smapi.ListSecretVersionIdsOutput
	err = s.st.View(ctx, func(tx store.Tx) error {
		d, err := find(tx, c, deref(in.SecretId), s.clock())
		if err != nil {
			return err
		}
		var all []smapi.SecretVersionsListEntry
		// Oldest first, as AWS lists them; a version without labels has
		// no VersionStages member at all.
		for _, v := range d.Versions {
			if len(v.Stages) == 0 && !deref(in.IncludeDeprecated) {
				continue
			}
			e := smapi.SecretVersionsListEntry{VersionId: ptr(v.ID), VersionStages: stageList(v.Stages), CreatedDate: ts(v.Created), LastAccessedDate: tsp(v.LastAccessed)}
			// AWS names the AWS managed key of a secret created without
			// KmsKeyId this way.
			e.KmsKeyIds = []string{"DefaultEncryptionKey"}
			if v.KmsKeyID != "" {
				e.KmsKeyIds = []string{v.KmsKeyID}
			}
			all = append(all, e)
		}
		out = &smapi.ListSecretVersionIdsOutput{ARN: ptr(d.ARN), Name: ptr(d.Name)}
		out.Versions, out.NextToken = page(all, start, limit)
		return nil
	})
	return out, err
}

func (s *Service) UpdateSecretVersionStage(ctx context.Context, in *smapi.UpdateSecretVersionStageInput) (*smapi.UpdateSecretVersionStageOutput, error) {
	var out *smapi.UpdateSecretVersionStageOutput
	stage := deref(in.VersionStage)
	err := s.updateLive(ctx, deref(in.SecretId), func(d *secretDoc) error {
		out = &smapi.UpdateSecretVersionStageOutput{ARN: ptr(d.ARN), Name: ptr(d.Name)}
		holder := d.versionWithStage(stage)
		if in.RemoveFromVersionId != nil {
			from := d.version(*in.RemoveFromVersionId)
			if from == nil {
				return smapi.NewResourceNotFoundException("Secrets Manager can't find the specified secret value for VersionId: %s", *in.RemoveFromVersionId)
			}
			if !slices.Contains(from.Stages, stage) {
				return smapi.NewInvalidParameterException("The staging label %s is not attached to version %s, so it can't be removed from it.", stage, from.ID)
			}
		}
		if in.MoveToVersionId == nil {
			if in.RemoveFromVersionId == nil {
				return smapi.NewInvalidParameterException("You must specify RemoveFromVersionId, MoveToVersionId, or both.")
			}
			if stage == StageCurrent {
				return smapi.NewInvalidParameterException("You can't remove the staging label AWSCURRENT from a version without moving it to another version.")
			}
			from := d.version(*in.RemoveFromVersionId)
			from.Stages = slices.DeleteFunc(from.Stages, func(s string) bool { return s == stage })
			return nil
		}
		to := d.version(*in.MoveToVersionId)
		if to == nil {
			return smapi.NewResourceNotFoundException("Secrets Manager can't find the specified secret value for VersionId: %s", *in.MoveToVersionId)
		}
		if holder != nil && holder.ID != to.ID && (in.RemoveFromVersionId == nil || *in.RemoveFromVersionId != holder.ID) {
			return smapi.NewInvalidParameterException("The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId.", stage, holder.ID)
		}
		completes := stage == StageCurrent && holder != nil && holder.ID != to.ID && slices.Contains(to.Stages, StagePending)
		d.moveStage(stage, to.ID)
		if completes {
			d.rotated(s.clock())
		}
		return nil
	})
	return out, err
}

func (s *Service) GetResourcePolicy(ctx context.Context, in *smapi.GetResourcePolicyInput) (*smapi.GetResourcePolicyOutput, error) {
	c := callerOf(ctx)
	var out *smapi.GetResourcePolicyOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, err := find(tx, c, deref(in.SecretId), s.clock())
		if err != nil {
			return err
		}
		out = &smapi.GetResourcePolicyOutput{ARN: ptr(d.ARN), Name: ptr(d.Name), ResourcePolicy: d.ResourcePolicy}
		return nil
	})
	return out, err
}

func validPolicy(p string) error {
	var doc map[string]any
	if err := json.Unmarshal([]byte(p), &doc); err != nil {
		return smapi.NewMalformedPolicyDocumentException("This resource policy contains a syntax error: the document is not a JSON object.")
	}
	return checkGrammar(doc)
}

func (s *Service) PutResourcePolicy(ctx context.Context, in *smapi.PutResourcePolicyInput) (*smapi.PutResourcePolicyOutput, error) {
	if err := validPolicy(deref(in.ResourcePolicy)); err != nil {
		return nil, err
	}
	var out *smapi.PutResourcePolicyOutput
	err := s.updateLive(ctx, deref(in.SecretId), func(d *secretDoc) error {
		d.ResourcePolicy = in.ResourcePolicy
		out = &smapi.PutResourcePolicyOutput{ARN: ptr(d.ARN), Name: ptr(d.Name)}
		return nil
	})
	return out, err
}

func (s *Service) DeleteResourcePolicy(ctx context.Context, in *smapi.DeleteResourcePolicyInput) (*smapi.DeleteResourcePolicyOutput, error) {
	var out *smapi.DeleteResourcePolicyOutput
	err := s.updateLive(ctx, deref(in.SecretId), func(d *secretDoc) error {
		d.ResourcePolicy = nil
		out = &smapi.DeleteResourcePolicyOutput{ARN: ptr(d.ARN), Name: ptr(d.Name)}
		return nil
	})
	return out, err
}

func (s *Service) ValidateResourcePolicy(ctx context.Context, in *smapi.ValidateResourcePolicyInput) (*smapi.ValidateResourcePolicyOutput, error) {
	if in.SecretId != nil {
		c := callerOf(ctx)
		if err := s.st.View(ctx, func(tx store.Tx) error {
			_, err := find(tx, c, *in.SecretId, s.clock())
			return err
		}); err != nil {
			return nil, err
		}
	}
	if err := validPolicy(deref(in.ResourcePolicy)); err != nil {
		return nil, err
	}
	return &smapi.ValidateResourcePolicyOutput{PolicyValidationPassed: ptr(true), ValidationErrors: []smapi.ValidationErrorsEntry{}}, nil
}
