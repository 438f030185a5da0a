package ecr

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/registry"
)

// Default and largest page sizes of the Describe/List operations.
const defaultMaxResults = 100

// CreateRepository creates a repository in the caller's registry.
func (s *Service) CreateRepository(ctx context.Context, in *ecrapi.CreateRepositoryInput) (*ecrapi.CreateRepositoryOutput, error) {
	c, err := s.callerOf(ctx, "CreateRepository", in.RegistryId)
	if err != nil {
		return nil, err
	}
	mode, filters, err := mutability(in.ImageTagMutability, in.ImageTagMutabilityExclusionFilters)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	set := repoSettings{Tags: tags, EncryptionType: "AES256"}
	if sc := in.ImageScanningConfiguration; sc != nil && sc.ScanOnPush != nil {
		set.ScanOnPush = *sc.ScanOnPush
	}
	if ec := in.EncryptionConfiguration; ec != nil {
		set.EncryptionType = string(*ec.EncryptionType)
		switch {
		case set.EncryptionType == "AES256" && ec.KmsKey != nil:
			return nil, invalidParam("Invalid parameter at 'encryptionConfiguration' failed to satisfy constraint: 'KmsKey can only be specified when encryptionType is KMS or KMS_DSSE'")
		case set.EncryptionType != "AES256" && ec.KmsKey != nil:
			set.KMSKey = *ec.KmsKey
		case set.EncryptionType != "AES256":
			// AWS then uses the account's AWS managed key for ECR.
			set.KMSKey = "arn:aws:kms:" + c.Region + ":" + c.Account + ":alias/aws/ecr"
		}
	}
	rep, err := s.reg.CreateRepository(ctx, registry.Repository{
		Repo:                 c.repo(*in.RepositoryName),
		TagMutability:        mode,
		MutabilityExclusions: filters,
		Settings:             set.encode(),
	})
	switch {
	case errors.Is(err, registry.ErrRepositoryExists):
		return nil, ecrapi.NewRepositoryAlreadyExistsException("The repository with name '%s' already exists in the registry with id '%s'", *in.RepositoryName, c.Account)
	case errors.Is(err, registry.ErrNameInvalid), errors.Is(err, registry.ErrInvalidArgument):
		return nil, invalidParam("Invalid parameter at 'repositoryName' failed to satisfy constraint: '%s'", err.Error())
	case err != nil:
		return nil, internal("CreateRepository", err)
	}
	// A repository made again under an old name must not inherit the old
	// one's lifecycle preview.
	s.forgetPreview(ctx, c, rep.Name)
	out, err := s.describe(rep)
	if err != nil {
		return nil, internal("CreateRepository", err)
	}
	return &ecrapi.CreateRepositoryOutput{Repository: &out}, nil
}

// DescribeRepositories lists repositories, or describes the named ones.
func (s *Service) DescribeRepositories(ctx context.Context, in *ecrapi.DescribeRepositoriesInput) (*ecrapi.DescribeRepositoriesOutput, error) {
	c, err := s.callerOf(ctx, "DescribeRepositories", in.RegistryId)
	if err != nil {
		return nil, err
	}
	out := &ecrapi.DescribeRepositoriesOutput{Repositories: []ecrapi.Repository{}}
	if in.RepositoryNames != nil {
		if in.NextToken != nil || in.MaxResults != nil {
			return nil, invalidParam("Invalid parameter at 'maxResults' failed to satisfy constraint: 'maxResults and nextToken cannot be used with repositoryNames'")
		}
		for _, name := range in.RepositoryNames {
			rep, err := s.reg.GetRepository(ctx, c.repo(name))
			if err != nil {
				return nil, s.repoErr("DescribeRepositories", c, name, err)
			}
			d, err := s.describe(rep)
			if err != nil {
				return nil, internal("DescribeRepositories", err)
			}
			out.Repositories = append(out.Repositories, d)
		}
		return out, nil
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := maxResults(in.MaxResults)
	reps, err := s.reg.ListRepositories(ctx, c.Account, c.Region, after, limit+1)
	if err != nil {
		return nil, internal("DescribeRepositories", err)
	}
	if len(reps) > limit {
		reps = reps[:limit]
		out.NextToken = encodeToken(reps[limit-1].Name)
	}
	for _, rep := range reps {
		d, err := s.describe(rep)
		if err != nil {
			return nil, internal("DescribeRepositories", err)
		}
		out.Repositories = append(out.Repositories, d)
	}
	return out, nil
}

// DeleteRepository deletes a repository; force deletes its images too.
func (s *Service) DeleteRepository(ctx context.Context, in *ecrapi.DeleteRepositoryInput) (*ecrapi.DeleteRepositoryOutput, error) {
	c, err := s.callerOf(ctx, "DeleteRepository", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	rep, err := s.reg.DeleteRepository(ctx, c.repo(name), in.Force != nil && *in.Force)
	if errors.Is(err, registry.ErrRepositoryNotEmpty) {
		return nil, ecrapi.NewRepositoryNotEmptyException("The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", name, c.Account)
	}
	if err != nil {
		return nil, s.repoErr("DeleteRepository", c, name, err)
	}
	s.forgetPreview(ctx, c, name)
	d, err := s.describe(rep)
	if err != nil {
		return nil, internal("DeleteRepository", err)
	}
	return &ecrapi.DeleteRepositoryOutput{Repository: &d}, nil
}

// PutImageTagMutability changes the tag mutability setting.
func (s *Service) PutImageTagMutability(ctx context.Context, in *ecrapi.PutImageTagMutabilityInput) (*ecrapi.PutImageTagMutabilityOutput, error) {
	c, err := s.callerOf(ctx, "PutImageTagMutability", in.RegistryId)
	if err != nil {
		return nil, err
	}
	mode, filters, err := mutability(in.ImageTagMutability, in.ImageTagMutabilityExclusionFilters)
	if err != nil {
		return nil, err
	}
	rep, err := s.reg.UpdateRepository(ctx, c.repo(*in.RepositoryName), func(r *registry.Repository) error {
		r.TagMutability, r.MutabilityExclusions = mode, filters
		return nil
	})
	if err != nil {
		return nil, s.repoErr("PutImageTagMutability", c, *in.RepositoryName, err)
	}
	d, err := s.describe(rep)
	if err != nil {
		return nil, internal("PutImageTagMutability", err)
	}
	return &ecrapi.PutImageTagMutabilityOutput{
		RegistryId:                         ptr(c.Account),
		RepositoryName:                     in.RepositoryName,
		ImageTagMutability:                 d.ImageTagMutability,
		ImageTagMutabilityExclusionFilters: d.ImageTagMutabilityExclusionFilters,
	}, nil
}

// PutImageScanningConfiguration stores the repository's scan-on-push flag.
// Scanning itself is a later stage; the setting is kept and returned.
func (s *Service) PutImageScanningConfiguration(ctx context.Context, in *ecrapi.PutImageScanningConfigurationInput) (*ecrapi.PutImageScanningConfigurationOutput, error) {
	c, err := s.callerOf(ctx, "PutImageScanningConfiguration", in.RegistryId)
	if err != nil {
		return nil, err
	}
	scan := in.ImageScanningConfiguration != nil && in.ImageScanningConfiguration.ScanOnPush != nil && *in.ImageScanningConfiguration.ScanOnPush
	if _, err := s.updateSettings(ctx, c, *in.RepositoryName, func(set *repoSettings) error {
		set.ScanOnPush = scan
		return nil
	}); err != nil {
		return nil, s.repoErr("PutImageScanningConfiguration", c, *in.RepositoryName, err)
	}
	return &ecrapi.PutImageScanningConfigurationOutput{
		RegistryId:                 ptr(c.Account),
		RepositoryName:             in.RepositoryName,
		ImageScanningConfiguration: &ecrapi.ImageScanningConfiguration{ScanOnPush: ptr(scan)},
	}, nil
}

// updateSettings applies fn to a repository's ECR settings in one
// transaction.
func (s *Service) updateSettings(ctx context.Context, c caller, name string, fn func(*repoSettings) error) (repoSettings, error) {
	var set repoSettings
	_, err := s.reg.UpdateRepository(ctx, c.repo(name), func(r *registry.Repository) error {
		var err error
		if set, err = settingsOf(*r); err != nil {
			return err
		}
		if err := fn(&set); err != nil {
			return err
		}
		r.Settings = set.encode()
		return nil
	})
	return set, err
}

// settings returns a repository's ECR settings.
func (s *Service) settings(ctx context.Context, c caller, name string) (registry.Repository, repoSettings, error) {
	rep, err := s.reg.GetRepository(ctx, c.repo(name))
	if err != nil {
		return rep, repoSettings{}, err
	}
	set, err := settingsOf(rep)
	return rep, set, err
}

// repoErr turns a registry error about a repository into the ECR error;
// errors that are already AWS errors pass through.
func (s *Service) repoErr(op string, c caller, name string, err error) error {
	switch {
	case awsapi.AsError(err) != nil:
		return err
	case errors.Is(err, registry.ErrRepositoryNotFound):
		return repoNotFound(c, name)
	case errors.Is(err, registry.ErrInvalidArgument), errors.Is(err, registry.ErrNameInvalid):
		return invalidParam("%s", err.Error())
	}
	return internal(op, err)
}

// SetRepositoryPolicy stores a repository policy. Berth keeps it and
// returns it; it has no IAM principals to enforce it against.
func (s *Service) SetRepositoryPolicy(ctx context.Context, in *ecrapi.SetRepositoryPolicyInput) (*ecrapi.SetRepositoryPolicyOutput, error) {
	c, err := s.callerOf(ctx, "SetRepositoryPolicy", in.RegistryId)
	if err != nil {
		return nil, err
	}
	if _, err := s.reg.GetRepository(ctx, c.repo(*in.RepositoryName)); err != nil {
		return nil, s.repoErr("SetRepositoryPolicy", c, *in.RepositoryName, err)
	}
	if !checkPolicy(*in.PolicyText, true) {
		return nil, invalidParam("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'")
	}
	if _, err := s.updateSettings(ctx, c, *in.RepositoryName, func(set *repoSettings) error {
		set.Policy = *in.PolicyText
		return nil
	}); err != nil {
		return nil, s.repoErr("SetRepositoryPolicy", c, *in.RepositoryName, err)
	}
	return &ecrapi.SetRepositoryPolicyOutput{RegistryId: ptr(c.Account), RepositoryName: in.RepositoryName, PolicyText: in.PolicyText}, nil
}

func policyNotFound(c caller, name string) error {
	return ecrapi.NewRepositoryPolicyNotFoundException("Repository policy does not exist for the repository with name '%s' in the registry with id '%s'", name, c.Account)
}

// GetRepositoryPolicy returns the repository policy.
func (s *Service) GetRepositoryPolicy(ctx context.Context, in *ecrapi.GetRepositoryPolicyInput) (*ecrapi.GetRepositoryPolicyOutput, error) {
	c, err := s.callerOf(ctx, "GetRepositoryPolicy", in.RegistryId)
	if err != nil {
		return nil, err
	}
	_, set, err := s.settings(ctx, c, *in.RepositoryName)
	if err != nil {
		return nil, s.repoErr("GetRepositoryPolicy", c, *in.RepositoryName, err)
	}
	if set.Policy == "" {
		return nil, policyNotFound(c, *in.RepositoryName)
	}
	return &ecrapi.GetRepositoryPolicyOutput{RegistryId: ptr(c.Account), RepositoryName: in.RepositoryName, PolicyText: ptr(set.Policy)}, nil
}

// DeleteRepositoryPolicy removes the repository policy and returns it.
func (s *Service) DeleteRepositoryPolicy(ctx context.Context, in *ecrapi.DeleteRepositoryPolicyInput) (*ecrapi.DeleteRepositoryPolicyOutput, error) {
	c, err := s.callerOf(ctx, "DeleteRepositoryPolicy", in.RegistryId)
	if err != nil {
		return nil, err
	}
	var old string
	_, err = s.updateSettings(ctx, c, *in.RepositoryName, func(set *repoSettings) error {
		if set.Policy == "" {
			return policyNotFound(c, *in.RepositoryName)
		}
		old, set.Policy = set.Policy, ""
		return nil
	})
	if err != nil {
		return nil, s.repoErr("DeleteRepositoryPolicy", c, *in.RepositoryName, err)
	}
	return &ecrapi.DeleteRepositoryPolicyOutput{RegistryId: ptr(c.Account), RepositoryName: in.RepositoryName, PolicyText: ptr(old)}, nil
}

// taggedRepository resolves a repository ARN for the tagging operations.
func (s *Service) taggedRepository(ctx context.Context, op, arn string) (caller, string, error) {
	id := awsapi.IdentityFrom(ctx)
	c := caller{Account: id.AccountID, Region: id.Region}
	region, account, name, ok := parseRepositoryARN(arn)
	if !ok {
		return c, "", invalidParam("Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN: %s'", arn)
	}
	if account != c.Account {
		return c, "", accessDenied(c, op, arn)
	}
	if region != c.Region {
		return c, "", invalidParam("Invalid parameter at 'resourceArn' failed to satisfy constraint: 'The ARN's region %s is not the region of the request, %s'", region, c.Region)
	}
	return c, name, nil
}

// TagResource adds or replaces tags of a repository.
func (s *Service) TagResource(ctx context.Context, in *ecrapi.TagResourceInput) (*ecrapi.TagResourceOutput, error) {
	c, name, err := s.taggedRepository(ctx, "TagResource", *in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	_, err = s.updateSettings(ctx, c, name, func(set *repoSettings) error {
		tags, err := mergeTags(set.Tags, in.Tags)
		set.Tags = tags
		return err
	})
	if err != nil {
		return nil, s.repoErr("TagResource", c, name, err)
	}
	return &ecrapi.TagResourceOutput{}, nil
}

// UntagResource removes tags of a repository by key.
func (s *Service) UntagResource(ctx context.Context, in *ecrapi.UntagResourceInput) (*ecrapi.UntagResourceOutput, error) {
	c, name, err := s.taggedRepository(ctx, "UntagResource", *in.ResourceArn)
	if err != nil {
		return nil, err
	}
	drop := map[string]bool{}
	for _, k := range in.TagKeys {
		if len(k) == 0 || len(k) > maxTagKeyLen {
			return nil, ecrapi.NewInvalidTagParameterException("The tag key '%s' is not valid", k)
		}
		drop[k] = true
	}
	_, err = s.updateSettings(ctx, c, name, func(set *repoSettings) error {
		kept := set.Tags[:0]
		for _, t := range set.Tags {
			if !drop[t.Key] {
				kept = append(kept, t)
			}
		}
		set.Tags = kept
		return nil
	})
	if err != nil {
		return nil, s.repoErr("UntagResource", c, name, err)
	}
	return &ecrapi.UntagResourceOutput{}, nil
}

// ListTagsForResource returns a repository's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *ecrapi.ListTagsForResourceInput) (*ecrapi.ListTagsForResourceOutput, error) {
	c, name, err := s.taggedRepository(ctx, "ListTagsForResource", *in.ResourceArn)
	if err != nil {
		return nil, err
	}
	_, set, err := s.settings(ctx, c, name)
	if err != nil {
		return nil, s.repoErr("ListTagsForResource", c, name, err)
	}
	return &ecrapi.ListTagsForResourceOutput{Tags: apiTags(set.Tags)}, nil
}

// maxResults is a request's page size.
func maxResults(p *int32) int {
	if p == nil || *p <= 0 {
		return defaultMaxResults
	}
	return int(*p)
}

// encodeToken makes an opaque nextToken of the key a listing continues
// after.
func encodeToken(after string) *string {
	data, _ := json.Marshal(pageToken{After: after})
	return ptr(base64.RawURLEncoding.EncodeToString(data))
}

func decodeToken(tok *string) (string, error) {
	if tok == nil || *tok == "" {
		return "", nil
	}
	data, err := base64.RawURLEncoding.DecodeString(*tok)
	var p pageToken
	if err == nil {
		err = json.Unmarshal(data, &p)
	}
	if err != nil || p.After == "" {
		return "", invalidParam("Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'")
	}
	return p.After, nil
}
