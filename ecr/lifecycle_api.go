package ecr

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ecr/lifecycle"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/store"
)

// Resource kinds ECR keeps in the store's resource area.
const (
	kindPreview        = "ecr.lifecycle-preview"
	kindLifecycleIndex = "ecr.lifecycle-index"
)

// parsePolicy parses a lifecycle policy text, with AWS's errors.
func parsePolicy(text string) (*lifecycle.Policy, error) {
	p, err := lifecycle.Parse(text)
	var verr *lifecycle.ValidationError
	switch {
	case errors.As(err, &verr) && verr.Length:
		return nil, awsapi.NewError(400, awsapi.CodeValidation, "%s", verr.Message("lifecyclePolicyText"))
	case errors.As(err, &verr):
		return nil, invalidParam("%s", verr.Message("lifecyclePolicyText"))
	case err != nil:
		return nil, invalidParam("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: '%s'", err.Error())
	}
	return p, nil
}

func lifecycleNotFound(c caller, name string) error {
	return ecrapi.NewLifecyclePolicyNotFoundException("Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", name, c.Account)
}

// indexID keys a repository in the global lifecycle index, which lets the
// runner find every repository with a policy across accounts and regions.
func indexID(r registry.Repo) string { return r.Account + "/" + r.Region + "/" + r.Name }

// PutLifecyclePolicy validates and stores a repository's lifecycle policy;
// the runner evaluates it shortly after (and after each push, and on its
// interval).
func (s *Service) PutLifecyclePolicy(ctx context.Context, in *ecrapi.PutLifecyclePolicyInput) (*ecrapi.PutLifecyclePolicyOutput, error) {
	c, err := s.callerOf(ctx, "PutLifecyclePolicy", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name, text := *in.RepositoryName, *in.LifecyclePolicyText
	if _, err := s.reg.GetRepository(ctx, c.repo(name)); err != nil {
		return nil, s.repoErr("PutLifecyclePolicy", c, name, err)
	}
	if _, err := parsePolicy(text); err != nil {
		return nil, err
	}
	// The index entry first: a crash between the two writes leaves an
	// entry without a policy, which the runner drops, never a policy the
	// runner cannot find.
	if err := s.st.Update(ctx, func(tx store.Tx) error {
		return store.PutDoc(tx, kindLifecycleIndex, "", "", indexID(c.repo(name)), struct{}{}, s.now().UTC())
	}); err != nil {
		return nil, internal("PutLifecyclePolicy", err)
	}
	if _, err := s.updateSettings(ctx, c, name, func(set *repoSettings) error {
		if set.Lifecycle == nil || set.Lifecycle.Text != text {
			set.Lifecycle = &lifecycleState{Text: text}
		}
		return nil
	}); err != nil {
		return nil, s.repoErr("PutLifecyclePolicy", c, name, err)
	}
	if s.lifecycle != nil {
		s.lifecycle.Notify(c.repo(name))
	}
	return &ecrapi.PutLifecyclePolicyOutput{RegistryId: ptr(c.Account), RepositoryName: ptr(name), LifecyclePolicyText: ptr(text)}, nil
}

// GetLifecyclePolicy returns the policy and when it last ran.
func (s *Service) GetLifecyclePolicy(ctx context.Context, in *ecrapi.GetLifecyclePolicyInput) (*ecrapi.GetLifecyclePolicyOutput, error) {
	c, err := s.callerOf(ctx, "GetLifecyclePolicy", in.RegistryId)
	if err != nil {
		return nil, err
	}
	_, set, err := s.settings(ctx, c, *in.RepositoryName)
	if err != nil {
		return nil, s.repoErr("GetLifecyclePolicy", c, *in.RepositoryName, err)
	}
	if set.Lifecycle == nil {
		return nil, lifecycleNotFound(c, *in.RepositoryName)
	}
	out := &ecrapi.GetLifecyclePolicyOutput{RegistryId: ptr(c.Account), RepositoryName: in.RepositoryName, LifecyclePolicyText: ptr(set.Lifecycle.Text)}
	if !set.Lifecycle.LastEvaluatedAt.IsZero() {
		out.LastEvaluatedAt = awsapi.Time(set.Lifecycle.LastEvaluatedAt)
	}
	return out, nil
}

// DeleteLifecyclePolicy removes the policy and returns it.
func (s *Service) DeleteLifecyclePolicy(ctx context.Context, in *ecrapi.DeleteLifecyclePolicyInput) (*ecrapi.DeleteLifecyclePolicyOutput, error) {
	c, err := s.callerOf(ctx, "DeleteLifecyclePolicy", in.RegistryId)
	if err != nil {
		return nil, err
	}
	var old lifecycleState
	if _, err := s.updateSettings(ctx, c, *in.RepositoryName, func(set *repoSettings) error {
		if set.Lifecycle == nil {
			return lifecycleNotFound(c, *in.RepositoryName)
		}
		old, set.Lifecycle = *set.Lifecycle, nil
		return nil
	}); err != nil {
		return nil, s.repoErr("DeleteLifecyclePolicy", c, *in.RepositoryName, err)
	}
	// The index entry is only a hint; the runner drops stale ones too.
	_ = s.st.Update(ctx, func(tx store.Tx) error {
		return store.DeleteDoc(tx, kindLifecycleIndex, "", "", indexID(c.repo(*in.RepositoryName)))
	})
	out := &ecrapi.DeleteLifecyclePolicyOutput{RegistryId: ptr(c.Account), RepositoryName: in.RepositoryName, LifecyclePolicyText: ptr(old.Text)}
	if !old.LastEvaluatedAt.IsZero() {
		out.LastEvaluatedAt = awsapi.Time(old.LastEvaluatedAt)
	}
	return out, nil
}

// preview is a stored lifecycle policy preview: the actions the policy
// took on the repository's images when the preview was started.
type preview struct {
	Text string `json:"text"`
	// RepoCreatedAt ties the preview to one life of the repository.
	RepoCreatedAt time.Time       `json:"repoCreatedAt"`
	Actions       []previewAction `json:"actions"`
}

type previewAction struct {
	Digest             string    `json:"digest"`
	Tags               []string  `json:"tags,omitempty"`
	PushedAt           time.Time `json:"pushedAt"`
	StorageClass       string    `json:"storageClass"`
	RulePriority       int       `json:"rulePriority"`
	Type               string    `json:"type"`
	TargetStorageClass string    `json:"targetStorageClass,omitempty"`
}

// StartLifecyclePolicyPreview evaluates a policy (the given text or the
// repository's own) against the repository's images, with the same code
// the runner executes, and keeps the result for GetLifecyclePolicyPreview.
// The evaluation is immediate; the status is IN_PROGRESS here as on AWS and
// COMPLETE from the first GetLifecyclePolicyPreview on.
func (s *Service) StartLifecyclePolicyPreview(ctx context.Context, in *ecrapi.StartLifecyclePolicyPreviewInput) (*ecrapi.StartLifecyclePolicyPreviewOutput, error) {
	c, err := s.callerOf(ctx, "StartLifecyclePolicyPreview", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	rep, set, err := s.settings(ctx, c, name)
	if err != nil {
		return nil, s.repoErr("StartLifecyclePolicyPreview", c, name, err)
	}
	var text string
	switch {
	case in.LifecyclePolicyText != nil:
		text = *in.LifecyclePolicyText
	case set.Lifecycle != nil:
		text = set.Lifecycle.Text
	default:
		return nil, lifecycleNotFound(c, name)
	}
	policy, err := parsePolicy(text)
	if err != nil {
		return nil, err
	}
	actions, err := s.plan(ctx, c.repo(name), policy, s.now())
	if err != nil {
		return nil, s.repoErr("StartLifecyclePolicyPreview", c, name, err)
	}
	p := preview{Text: text, RepoCreatedAt: rep.CreatedAt, Actions: []previewAction{}}
	for _, a := range actions {
		p.Actions = append(p.Actions, previewAction{
			Digest: a.Digest, Tags: a.Tags, PushedAt: a.PushedAt, StorageClass: a.StorageClass,
			RulePriority: a.RulePriority, Type: a.Type, TargetStorageClass: a.TargetStorageClass,
		})
	}
	if err := s.st.Update(ctx, func(tx store.Tx) error {
		return store.PutDoc(tx, kindPreview, c.Account, c.Region, name, p, s.now().UTC())
	}); err != nil {
		return nil, internal("StartLifecyclePolicyPreview", err)
	}
	return &ecrapi.StartLifecyclePolicyPreviewOutput{
		RegistryId: ptr(c.Account), RepositoryName: ptr(name), LifecyclePolicyText: ptr(text),
		Status: ptr(ecrapi.LifecyclePolicyPreviewStatusInProgress),
	}, nil
}

// GetLifecyclePolicyPreview returns the last preview's results.
func (s *Service) GetLifecyclePolicyPreview(ctx context.Context, in *ecrapi.GetLifecyclePolicyPreviewInput) (*ecrapi.GetLifecyclePolicyPreviewOutput, error) {
	c, err := s.callerOf(ctx, "GetLifecyclePolicyPreview", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	rep, err := s.reg.GetRepository(ctx, c.repo(name))
	if err != nil {
		return nil, s.repoErr("GetLifecyclePolicyPreview", c, name, err)
	}
	if in.ImageIds != nil && (in.NextToken != nil || in.MaxResults != nil) {
		return nil, invalidParam("Invalid parameter at 'maxResults' failed to satisfy constraint: 'maxResults and nextToken cannot be used with imageIds'")
	}
	start := 0
	if in.NextToken != nil {
		tok, err := decodeToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		if start, err = strconv.Atoi(tok); err != nil || start < 0 {
			return nil, invalidParam("Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'")
		}
	}
	var p preview
	err = s.st.View(ctx, func(tx store.Tx) error {
		return store.ReadDoc(tx, kindPreview, c.Account, c.Region, name, &p)
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.RepoCreatedAt.Equal(rep.CreatedAt)) {
		return nil, ecrapi.NewLifecyclePolicyPreviewNotFoundException("There is no lifecycle policy preview for the repository with name '%s' in the registry with id '%s'", name, c.Account)
	}
	if err != nil {
		return nil, internal("GetLifecyclePolicyPreview", err)
	}

	var selected []previewAction
	for _, a := range p.Actions {
		if in.Filter != nil && !tagStatusMatches(in.Filter.TagStatus, len(a.Tags) > 0) {
			continue
		}
		if in.ImageIds != nil && !slices.ContainsFunc(in.ImageIds, func(id ecrapi.ImageIdentifier) bool {
			return (id.ImageDigest == nil || *id.ImageDigest == a.Digest) &&
				(id.ImageTag == nil || slices.Contains(a.Tags, *id.ImageTag)) &&
				(id.ImageDigest != nil || id.ImageTag != nil)
		}) {
			continue
		}
		selected = append(selected, a)
	}
	summary := lifecycleSummary(selected)
	limit := maxResults(in.MaxResults)
	out := &ecrapi.GetLifecyclePolicyPreviewOutput{
		RegistryId: ptr(c.Account), RepositoryName: ptr(name), LifecyclePolicyText: ptr(p.Text),
		Status: ptr(ecrapi.LifecyclePolicyPreviewStatusComplete), PreviewResults: []ecrapi.LifecyclePolicyPreviewResult{},
		Summary: summary,
	}
	for i := start; i < len(selected); i++ {
		if len(out.PreviewResults) == limit {
			out.NextToken = encodeToken(strconv.Itoa(i))
			break
		}
		a := selected[i]
		r := ecrapi.LifecyclePolicyPreviewResult{
			ImageDigest:         ptr(a.Digest),
			ImagePushedAt:       awsapi.Time(a.PushedAt),
			Action:              &ecrapi.LifecyclePolicyRuleAction{Type: ptr(ecrapi.ImageActionType(a.Type))},
			AppliedRulePriority: ptr(int32(a.RulePriority)),
			StorageClass:        ptr(ecrapi.LifecyclePolicyStorageClass(orDefault(a.StorageClass, lifecycle.StorageStandard))),
		}
		if len(a.Tags) > 0 {
			r.ImageTags = a.Tags
		}
		if a.TargetStorageClass != "" {
			r.Action.TargetStorageClass = ptr(ecrapi.LifecyclePolicyTargetStorageClass(a.TargetStorageClass))
		}
		out.PreviewResults = append(out.PreviewResults, r)
	}
	return out, nil
}

func lifecycleSummary(actions []previewAction) *ecrapi.LifecyclePolicyPreviewSummary {
	la := make([]lifecycle.Action, len(actions))
	for i, a := range actions {
		la[i] = lifecycle.Action{Type: a.Type, TargetStorageClass: a.TargetStorageClass}
	}
	sum := lifecycle.Summarize(la)
	out := &ecrapi.LifecyclePolicyPreviewSummary{ExpiringImageTotalCount: ptr(int32(sum.ExpiringImageTotalCount))}
	for class, n := range sum.TransitioningImageTotalCounts {
		out.TransitioningImageTotalCounts = append(out.TransitioningImageTotalCounts, ecrapi.TransitioningImageTotalCount{
			TargetStorageClass: ptr(ecrapi.LifecyclePolicyTargetStorageClass(class)), ImageTotalCount: ptr(int32(n)),
		})
	}
	return out
}

// forgetPreview drops a repository's preview (the repository is gone or
// new); failures only leave a preview that GetLifecyclePolicyPreview
// recognises as stale.
func (s *Service) forgetPreview(ctx context.Context, c caller, name string) {
	_ = s.st.Update(ctx, func(tx store.Tx) error {
		return store.DeleteDoc(tx, kindPreview, c.Account, c.Region, name)
	})
}
