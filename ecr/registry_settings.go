package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Resource kinds of registry-wide settings, one record per account and
// region (a registry).
const (
	kindRegistryPolicy   = "ecr.registry-policy"
	kindAccountSetting   = "ecr.account-setting"
	kindSigning          = "ecr.signing-configuration"
	kindPullExclusion    = "ecr.pull-time-exclusion"
	kindCreationTemplate = "ecr.creation-template"
)

// getDoc reads a resource of the caller's registry into v; found is false
// when there is none.
func (s *Service) getDoc(ctx context.Context, kind string, c caller, id string, v any) (found bool, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		found, err = store.LoadDoc(tx, kind, c.Account, c.Region, id, v)
		return err
	})
	return found && err == nil, err
}

func (s *Service) putDoc(ctx context.Context, kind string, c caller, id string, v any) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		return store.PutDoc(tx, kind, c.Account, c.Region, id, v, s.now().UTC())
	})
}

// takeDoc deletes a resource and returns what it held; found is false when
// there was none.
func (s *Service) takeDoc(ctx context.Context, kind string, c caller, id string, v any) (found bool, err error) {
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if found, err = store.LoadDoc(tx, kind, c.Account, c.Region, id, v); !found || err != nil {
			return err
		}
		return store.DeleteDoc(tx, kind, c.Account, c.Region, id)
	})
	return found && err == nil, err
}

func (s *Service) callerIn(ctx context.Context) caller {
	id := awsapi.IdentityFrom(ctx)
	return caller{Account: id.AccountID, Region: id.Region}
}

// DescribeRegistry describes the caller's registry with its replication
// configuration (replication.go).
func (s *Service) DescribeRegistry(ctx context.Context, in *ecrapi.DescribeRegistryInput) (*ecrapi.DescribeRegistryOutput, error) {
	c := s.callerIn(ctx)
	cfg, err := s.replicationConfiguration(ctx, c)
	if err != nil {
		return nil, internal("DescribeRegistry", err)
	}
	return &ecrapi.DescribeRegistryOutput{RegistryId: ptr(c.Account), ReplicationConfiguration: cfg}, nil
}

func registryPolicyNotFound(c caller) error {
	return ecrapi.NewRegistryPolicyNotFoundException("Registry policy does not exist in the registry with id '%s'", c.Account)
}

// PutRegistryPolicy stores the registry's permissions policy (kept and
// returned, not enforced: Berth has no IAM principals).
func (s *Service) PutRegistryPolicy(ctx context.Context, in *ecrapi.PutRegistryPolicyInput) (*ecrapi.PutRegistryPolicyOutput, error) {
	c := s.callerIn(ctx)
	if !checkPolicy(*in.PolicyText, true) {
		return nil, invalidParam("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'")
	}
	scope := accountSettings["REGISTRY_POLICY_SCOPE"][0]
	if _, err := s.getDoc(ctx, kindAccountSetting, c, "REGISTRY_POLICY_SCOPE", &scope); err != nil {
		return nil, internal("PutRegistryPolicy", err)
	}
	if scope == "V1" && !fitsV1Scope(*in.PolicyText) {
		return nil, invalidParam("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'")
	}
	if err := s.putDoc(ctx, kindRegistryPolicy, c, "policy", *in.PolicyText); err != nil {
		return nil, internal("PutRegistryPolicy", err)
	}
	return &ecrapi.PutRegistryPolicyOutput{RegistryId: ptr(c.Account), PolicyText: in.PolicyText}, nil
}

// GetRegistryPolicy returns the registry's policy.
func (s *Service) GetRegistryPolicy(ctx context.Context, in *ecrapi.GetRegistryPolicyInput) (*ecrapi.GetRegistryPolicyOutput, error) {
	c := s.callerIn(ctx)
	var text string
	found, err := s.getDoc(ctx, kindRegistryPolicy, c, "policy", &text)
	if err != nil {
		return nil, internal("GetRegistryPolicy", err)
	}
	if !found {
		return nil, registryPolicyNotFound(c)
	}
	return &ecrapi.GetRegistryPolicyOutput{RegistryId: ptr(c.Account), PolicyText: ptr(text)}, nil
}

// DeleteRegistryPolicy removes the registry's policy and returns it.
func (s *Service) DeleteRegistryPolicy(ctx context.Context, in *ecrapi.DeleteRegistryPolicyInput) (*ecrapi.DeleteRegistryPolicyOutput, error) {
	c := s.callerIn(ctx)
	var text string
	found, err := s.takeDoc(ctx, kindRegistryPolicy, c, "policy", &text)
	if err != nil {
		return nil, internal("DeleteRegistryPolicy", err)
	}
	if !found {
		return nil, registryPolicyNotFound(c)
	}
	return &ecrapi.DeleteRegistryPolicyOutput{RegistryId: ptr(c.Account), PolicyText: ptr(text)}, nil
}

// accountSettings are the settings PutAccountSetting knows, with their
// values; the first value is the default GetAccountSetting reports.
var accountSettings = map[string][]string{
	"BASIC_SCAN_TYPE_VERSION": {"AWS_NATIVE", "CLAIR"},
	"REGISTRY_POLICY_SCOPE":   {"V2", "V1"},
	"BLOB_MOUNTING":           {"DISABLED", "ENABLED"},
}

func checkAccountSettingName(name string) error {
	if _, ok := accountSettings[name]; ok {
		return nil
	}
	names := make([]string, 0, len(accountSettings))
	for n := range accountSettings {
		names = append(names, n)
	}
	sort.Strings(names)
	return invalidParam("Invalid parameter at 'name' failed to satisfy constraint: 'Account setting name must be one of [%s]'", strings.Join(names, ", "))
}

// GetAccountSetting returns an account setting, or its default.
func (s *Service) GetAccountSetting(ctx context.Context, in *ecrapi.GetAccountSettingInput) (*ecrapi.GetAccountSettingOutput, error) {
	c := s.callerIn(ctx)
	if err := checkAccountSettingName(*in.Name); err != nil {
		return nil, err
	}
	value := accountSettings[*in.Name][0]
	if _, err := s.getDoc(ctx, kindAccountSetting, c, *in.Name, &value); err != nil {
		return nil, internal("GetAccountSetting", err)
	}
	return &ecrapi.GetAccountSettingOutput{Name: in.Name, Value: ptr(value)}, nil
}

// PutAccountSetting stores an account setting. Berth keeps and returns
// it; of the behaviours behind the settings, only REGISTRY_POLICY_SCOPE's
// V1 limit on the actions PutRegistryPolicy accepts is switched by it.
func (s *Service) PutAccountSetting(ctx context.Context, in *ecrapi.PutAccountSettingInput) (*ecrapi.PutAccountSettingOutput, error) {
	c := s.callerIn(ctx)
	if err := checkAccountSettingName(*in.Name); err != nil {
		return nil, err
	}
	values := accountSettings[*in.Name]
	found := false
	for _, v := range values {
		found = found || v == *in.Value
	}
	if !found {
		return nil, invalidParam("Invalid parameter at 'value' failed to satisfy constraint: 'The value of %s must be one of [%s]'", *in.Name, strings.Join(values, ", "))
	}
	if err := s.putDoc(ctx, kindAccountSetting, c, *in.Name, *in.Value); err != nil {
		return nil, internal("PutAccountSetting", err)
	}
	return &ecrapi.PutAccountSettingOutput{Name: in.Name, Value: in.Value}, nil
}

func signingNotFound(c caller) error {
	return ecrapi.NewSigningConfigurationNotFoundException("Signing configuration does not exist in the registry with id '%s'", c.Account)
}

// PutSigningConfiguration stores the registry's managed-signing rules.
// Berth has no AWS Signer to sign with: the rules are kept and returned,
// and DescribeImageSigningStatus reports no signatures.
func (s *Service) PutSigningConfiguration(ctx context.Context, in *ecrapi.PutSigningConfigurationInput) (*ecrapi.PutSigningConfigurationOutput, error) {
	c := s.callerIn(ctx)
	cfg := *in.SigningConfiguration
	if cfg.Rules == nil {
		cfg.Rules = []ecrapi.SigningRule{}
	}
	if err := s.putDoc(ctx, kindSigning, c, "signing", cfg); err != nil {
		return nil, internal("PutSigningConfiguration", err)
	}
	return &ecrapi.PutSigningConfigurationOutput{SigningConfiguration: &cfg}, nil
}

// GetSigningConfiguration returns the registry's signing rules.
func (s *Service) GetSigningConfiguration(ctx context.Context, in *ecrapi.GetSigningConfigurationInput) (*ecrapi.GetSigningConfigurationOutput, error) {
	c := s.callerIn(ctx)
	var cfg ecrapi.SigningConfiguration
	found, err := s.getDoc(ctx, kindSigning, c, "signing", &cfg)
	if err != nil {
		return nil, internal("GetSigningConfiguration", err)
	}
	if !found {
		return nil, signingNotFound(c)
	}
	return &ecrapi.GetSigningConfigurationOutput{RegistryId: ptr(c.Account), SigningConfiguration: &cfg}, nil
}

// DeleteSigningConfiguration removes the signing rules and returns them.
func (s *Service) DeleteSigningConfiguration(ctx context.Context, in *ecrapi.DeleteSigningConfigurationInput) (*ecrapi.DeleteSigningConfigurationOutput, error) {
	c := s.callerIn(ctx)
	var cfg ecrapi.SigningConfiguration
	found, err := s.takeDoc(ctx, kindSigning, c, "signing", &cfg)
	if err != nil {
		return nil, internal("DeleteSigningConfiguration", err)
	}
	if !found {
		return nil, signingNotFound(c)
	}
	return &ecrapi.DeleteSigningConfigurationOutput{RegistryId: ptr(c.Account), SigningConfiguration: &cfg}, nil
}

// DescribeImageSigningStatus reports an image's signatures: none, as
// Berth does not sign.
func (s *Service) DescribeImageSigningStatus(ctx context.Context, in *ecrapi.DescribeImageSigningStatusInput) (*ecrapi.DescribeImageSigningStatusOutput, error) {
	c, err := s.callerOf(ctx, "DescribeImageSigningStatus", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	imgs, err := s.listImages(ctx, "DescribeImageSigningStatus", c, name)
	if err != nil {
		return nil, err
	}
	img, code, _ := findImage(imgs, *in.ImageId)
	if code != "" {
		return nil, imageNotFound(c, name, *in.ImageId)
	}
	return &ecrapi.DescribeImageSigningStatusOutput{
		RepositoryName:  ptr(name),
		ImageId:         &ecrapi.ImageIdentifier{ImageDigest: ptr(img.Digest.String()), ImageTag: in.ImageId.ImageTag},
		RegistryId:      ptr(c.Account),
		SigningStatuses: []ecrapi.ImageSigningStatus{},
	}, nil
}

// maxPullExclusions is the model's bound on the exclusion list.
const maxPullExclusions = 100

type pullExclusion struct {
	CreatedAt awsapi.Timestamp `json:"createdAt"`
}

// RegisterPullTimeUpdateExclusion records a principal whose pulls should
// not update lastRecordedPullTime. Berth's registry knows accounts, not IAM
// principals, so the list is kept and returned without effect on pulls.
func (s *Service) RegisterPullTimeUpdateExclusion(ctx context.Context, in *ecrapi.RegisterPullTimeUpdateExclusionInput) (*ecrapi.RegisterPullTimeUpdateExclusionOutput, error) {
	c := s.callerIn(ctx)
	arn := *in.PrincipalArn
	var ex pullExclusion
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetResource(kindPullExclusion, c.Account, c.Region, arn); err == nil {
			return ecrapi.NewExclusionAlreadyExistsException("The principal '%s' is already excluded from pull time updates in the registry with id '%s'", arn, c.Account)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		all, err := tx.ListResources(kindPullExclusion, c.Account, c.Region, "", store.Page{})
		if err != nil {
			return err
		}
		if len(all) >= maxPullExclusions {
			return ecrapi.NewLimitExceededException("A registry can exclude at most %d principals from pull time updates", maxPullExclusions)
		}
		ex = pullExclusion{CreatedAt: awsapi.Timestamp{Time: s.now().UTC()}}
		return store.PutDoc(tx, kindPullExclusion, c.Account, c.Region, arn, ex, s.now().UTC())
	})
	if err != nil {
		if awsapi.AsError(err) != nil {
			return nil, err
		}
		return nil, internal("RegisterPullTimeUpdateExclusion", err)
	}
	return &ecrapi.RegisterPullTimeUpdateExclusionOutput{PrincipalArn: ptr(arn), CreatedAt: &ex.CreatedAt}, nil
}

// DeregisterPullTimeUpdateExclusion removes a principal from the list.
func (s *Service) DeregisterPullTimeUpdateExclusion(ctx context.Context, in *ecrapi.DeregisterPullTimeUpdateExclusionInput) (*ecrapi.DeregisterPullTimeUpdateExclusionOutput, error) {
	c := s.callerIn(ctx)
	var ex pullExclusion
	found, err := s.takeDoc(ctx, kindPullExclusion, c, *in.PrincipalArn, &ex)
	if err != nil {
		return nil, internal("DeregisterPullTimeUpdateExclusion", err)
	}
	if !found {
		return nil, ecrapi.NewExclusionNotFoundException("The principal '%s' is not excluded from pull time updates in the registry with id '%s'", *in.PrincipalArn, c.Account)
	}
	return &ecrapi.DeregisterPullTimeUpdateExclusionOutput{PrincipalArn: in.PrincipalArn}, nil
}

// ListPullTimeUpdateExclusions lists the excluded principals.
func (s *Service) ListPullTimeUpdateExclusions(ctx context.Context, in *ecrapi.ListPullTimeUpdateExclusionsInput) (*ecrapi.ListPullTimeUpdateExclusionsOutput, error) {
	c := s.callerIn(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := maxResults(in.MaxResults)
	var rs []store.Resource
	err = s.st.View(ctx, func(tx store.Tx) error {
		var err error
		rs, err = tx.ListResources(kindPullExclusion, c.Account, c.Region, "", store.Page{After: after, Limit: limit + 1})
		return err
	})
	if err != nil {
		return nil, internal("ListPullTimeUpdateExclusions", err)
	}
	out := &ecrapi.ListPullTimeUpdateExclusionsOutput{PullTimeUpdateExclusions: []string{}}
	for i, r := range rs {
		if i == limit {
			out.NextToken = encodeToken(rs[i-1].ID)
			break
		}
		out.PullTimeUpdateExclusions = append(out.PullTimeUpdateExclusions, r.ID)
	}
	return out, nil
}

func templateNotFound(c caller, prefix string) error {
	return ecrapi.NewTemplateNotFoundException("The repository creation template with prefix '%s' does not exist in the registry with id '%s'", prefix, c.Account)
}

// checkTemplate validates what a repository creation template carries, as
// CreateRepository and the policy operations would.
func checkTemplate(t *ecrapi.RepositoryCreationTemplate) error {
	if _, _, err := mutability(t.ImageTagMutability, t.ImageTagMutabilityExclusionFilters); err != nil {
		return err
	}
	if err := checkTags(t.ResourceTags); err != nil {
		return err
	}
	if _, err := mergeTags(nil, t.ResourceTags); err != nil {
		return err
	}
	if p := str(t.RepositoryPolicy); p != "" && !checkPolicy(p, true) {
		return invalidParam("Invalid parameter at 'repositoryPolicy' failed to satisfy constraint: 'Invalid repository policy provided'")
	}
	if p := str(t.LifecyclePolicy); p != "" {
		if _, err := parsePolicy(p); err != nil {
			return err
		}
	}
	return nil
}

// CreateRepositoryCreationTemplate stores a template. Templates apply to
// the repositories that replication and the pull-through cache create
// (templates.go); CREATE_ON_PUSH is kept but has no effect, as pushes do
// not create repositories in Berth.
func (s *Service) CreateRepositoryCreationTemplate(ctx context.Context, in *ecrapi.CreateRepositoryCreationTemplateInput) (*ecrapi.CreateRepositoryCreationTemplateOutput, error) {
	c := s.callerIn(ctx)
	now := awsapi.Time(s.now().UTC())
	t := ecrapi.RepositoryCreationTemplate{
		Prefix: in.Prefix, Description: in.Description, EncryptionConfiguration: in.EncryptionConfiguration,
		ResourceTags: in.ResourceTags, ImageTagMutability: in.ImageTagMutability,
		ImageTagMutabilityExclusionFilters: in.ImageTagMutabilityExclusionFilters, RepositoryPolicy: in.RepositoryPolicy,
		LifecyclePolicy: in.LifecyclePolicy, AppliedFor: in.AppliedFor, CustomRoleArn: in.CustomRoleArn,
		CreatedAt: now, UpdatedAt: now,
	}
	defaultTemplate(&t)
	if err := checkTemplate(&t); err != nil {
		return nil, err
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		err := store.CreateDoc(tx, kindCreationTemplate, c.Account, c.Region, *in.Prefix, t, s.now().UTC())
		if errors.Is(err, store.ErrConflict) {
			return ecrapi.NewTemplateAlreadyExistsException("A repository creation template with prefix '%s' already exists in the registry with id '%s'", *in.Prefix, c.Account)
		}
		return err
	})
	if err != nil {
		if awsapi.AsError(err) != nil {
			return nil, err
		}
		return nil, internal("CreateRepositoryCreationTemplate", err)
	}
	return &ecrapi.CreateRepositoryCreationTemplateOutput{RegistryId: ptr(c.Account), RepositoryCreationTemplate: &t}, nil
}

// defaultTemplate fills the defaults AWS reports for a template.
func defaultTemplate(t *ecrapi.RepositoryCreationTemplate) {
	if t.ImageTagMutability == nil {
		t.ImageTagMutability = ptr(ecrapi.ImageTagMutabilityMutable)
	}
	if t.EncryptionConfiguration == nil {
		t.EncryptionConfiguration = &ecrapi.EncryptionConfigurationForRepositoryCreationTemplate{EncryptionType: ptr(ecrapi.EncryptionTypeAes256)}
	}
}

// UpdateRepositoryCreationTemplate changes the members given.
func (s *Service) UpdateRepositoryCreationTemplate(ctx context.Context, in *ecrapi.UpdateRepositoryCreationTemplateInput) (*ecrapi.UpdateRepositoryCreationTemplateOutput, error) {
	c := s.callerIn(ctx)
	var t ecrapi.RepositoryCreationTemplate
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if found, err := store.LoadDoc(tx, kindCreationTemplate, c.Account, c.Region, *in.Prefix, &t); err != nil {
			return err
		} else if !found {
			return templateNotFound(c, *in.Prefix)
		}
		if in.Description != nil {
			t.Description = in.Description
		}
		if in.EncryptionConfiguration != nil {
			t.EncryptionConfiguration = in.EncryptionConfiguration
		}
		if in.ResourceTags != nil {
			t.ResourceTags = in.ResourceTags
		}
		if in.ImageTagMutability != nil {
			t.ImageTagMutability = in.ImageTagMutability
			t.ImageTagMutabilityExclusionFilters = in.ImageTagMutabilityExclusionFilters
		} else if in.ImageTagMutabilityExclusionFilters != nil {
			t.ImageTagMutabilityExclusionFilters = in.ImageTagMutabilityExclusionFilters
		}
		if in.RepositoryPolicy != nil {
			t.RepositoryPolicy = in.RepositoryPolicy
		}
		if in.LifecyclePolicy != nil {
			t.LifecyclePolicy = in.LifecyclePolicy
		}
		if in.AppliedFor != nil {
			t.AppliedFor = in.AppliedFor
		}
		if in.CustomRoleArn != nil {
			t.CustomRoleArn = in.CustomRoleArn
		}
		t.UpdatedAt = awsapi.Time(s.now().UTC())
		if err := checkTemplate(&t); err != nil {
			return err
		}
		return store.PutDoc(tx, kindCreationTemplate, c.Account, c.Region, *in.Prefix, t, s.now().UTC())
	})
	if err != nil {
		if awsapi.AsError(err) != nil {
			return nil, err
		}
		return nil, internal("UpdateRepositoryCreationTemplate", err)
	}
	return &ecrapi.UpdateRepositoryCreationTemplateOutput{RegistryId: ptr(c.Account), RepositoryCreationTemplate: &t}, nil
}

// DeleteRepositoryCreationTemplate removes a template and returns it.
func (s *Service) DeleteRepositoryCreationTemplate(ctx context.Context, in *ecrapi.DeleteRepositoryCreationTemplateInput) (*ecrapi.DeleteRepositoryCreationTemplateOutput, error) {
	c := s.callerIn(ctx)
	var t ecrapi.RepositoryCreationTemplate
	found, err := s.takeDoc(ctx, kindCreationTemplate, c, *in.Prefix, &t)
	if err != nil {
		return nil, internal("DeleteRepositoryCreationTemplate", err)
	}
	if !found {
		return nil, templateNotFound(c, *in.Prefix)
	}
	return &ecrapi.DeleteRepositoryCreationTemplateOutput{RegistryId: ptr(c.Account), RepositoryCreationTemplate: &t}, nil
}

// DescribeRepositoryCreationTemplates lists templates, or the ones named.
func (s *Service) DescribeRepositoryCreationTemplates(ctx context.Context, in *ecrapi.DescribeRepositoryCreationTemplatesInput) (*ecrapi.DescribeRepositoryCreationTemplatesOutput, error) {
	c := s.callerIn(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	var rs []store.Resource
	err = s.st.View(ctx, func(tx store.Tx) error {
		var err error
		rs, err = tx.ListResources(kindCreationTemplate, c.Account, c.Region, "", store.Page{After: after})
		return err
	})
	if err != nil {
		return nil, internal("DescribeRepositoryCreationTemplates", err)
	}
	limit := maxResults(in.MaxResults)
	out := &ecrapi.DescribeRepositoryCreationTemplatesOutput{RegistryId: ptr(c.Account), RepositoryCreationTemplates: []ecrapi.RepositoryCreationTemplate{}}
	for _, r := range rs {
		if in.Prefixes != nil && !contains(in.Prefixes, r.ID) {
			continue
		}
		if len(out.RepositoryCreationTemplates) == limit {
			out.NextToken = encodeToken(str(out.RepositoryCreationTemplates[limit-1].Prefix))
			break
		}
		var t ecrapi.RepositoryCreationTemplate
		if err := json.Unmarshal(r.Doc, &t); err != nil {
			return nil, internal("DescribeRepositoryCreationTemplates", err)
		}
		out.RepositoryCreationTemplates = append(out.RepositoryCreationTemplates, t)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
