package ecr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/store"
)

// Repository creation templates are stored and served by the operations
// in registry_settings.go; this file applies them to the repositories ECR
// creates on the user's behalf (replication and pull-through cache).

// templatePrefixRoot is the template prefix that matches every repository
// no other template matches.
const templatePrefixRoot = "ROOT"

// templateMatches reports whether a template prefix covers a repository
// name; a prefix always has an implied "/" after it.
func templateMatches(prefix, name string) bool {
	if prefix == templatePrefixRoot {
		return true
	}
	p := strings.TrimSuffix(prefix, "/") + "/"
	return strings.HasPrefix(name, p) && len(name) > len(p)
}

// templateFor returns the template that applies to a repository created
// for appliedFor: the longest matching prefix among the templates that
// apply to it, else a ROOT template that does.
func (s *Service) templateFor(ctx context.Context, repo registry.Repo, appliedFor string) (ecrapi.RepositoryCreationTemplate, bool, error) {
	var ts []*ecrapi.RepositoryCreationTemplate
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		ts, _, err = store.AllDocs[*ecrapi.RepositoryCreationTemplate](tx, kindCreationTemplate, repo.Account, repo.Region, "", store.Page{})
		return err
	})
	if err != nil {
		return ecrapi.RepositoryCreationTemplate{}, false, err
	}
	var best, root *ecrapi.RepositoryCreationTemplate
	for _, t := range ts {
		applies := false
		for _, a := range t.AppliedFor {
			applies = applies || string(a) == appliedFor
		}
		prefix := str(t.Prefix)
		switch {
		case !applies:
		case prefix == templatePrefixRoot:
			root = t
		case templateMatches(prefix, repo.Name) && (best == nil || len(prefix) > len(str(best.Prefix))):
			best = t
		}
	}
	if best == nil {
		best = root
	}
	if best == nil {
		return ecrapi.RepositoryCreationTemplate{}, false, nil
	}
	return *best, true, nil
}

// EnsureRepository creates a repository on the user's behalf unless it
// exists: with the settings of the matching repository creation template
// for appliedFor (REPLICATION or PULL_THROUGH_CACHE) when there is one,
// ECR's defaults otherwise. It implements the repository maker of the
// replication and pull-through packages.
func (s *Service) EnsureRepository(ctx context.Context, repo registry.Repo, appliedFor string) error {
	if _, err := s.reg.GetRepository(ctx, repo); err == nil {
		return nil
	} else if !errors.Is(err, registry.ErrRepositoryNotFound) {
		return err
	}
	t, found, err := s.templateFor(ctx, repo, appliedFor)
	if err != nil {
		return err
	}
	rep := registry.Repository{Repo: repo, TagMutability: registry.Mutable}
	set := repoSettings{EncryptionType: "AES256"}
	if found {
		mode, filters, err := mutability(t.ImageTagMutability, t.ImageTagMutabilityExclusionFilters)
		if err != nil {
			return fmt.Errorf("template %s: %w", str(t.Prefix), err)
		}
		rep.TagMutability, rep.MutabilityExclusions = mode, filters
		if set.Tags, err = mergeTags(nil, t.ResourceTags); err != nil {
			return fmt.Errorf("template %s: %w", str(t.Prefix), err)
		}
		if ec := t.EncryptionConfiguration; ec != nil && ec.EncryptionType != nil && *ec.EncryptionType != ecrapi.EncryptionTypeAes256 {
			set.EncryptionType = string(*ec.EncryptionType)
			set.KMSKey = str(ec.KmsKey)
			if set.KMSKey == "" {
				set.KMSKey = "arn:aws:kms:" + repo.Region + ":" + repo.Account + ":alias/aws/ecr"
			}
		}
		set.Policy = str(t.RepositoryPolicy)
		if lp := str(t.LifecyclePolicy); lp != "" {
			set.Lifecycle = &lifecycleState{Text: lp}
			// The index entry first, as PutLifecyclePolicy does.
			if err := s.st.Update(ctx, func(tx store.Tx) error {
				return store.PutDoc(tx, kindLifecycleIndex, "", "", indexID(repo), struct{}{}, s.now().UTC())
			}); err != nil {
				return err
			}
		}
	}
	rep.Settings = set.encode()
	if _, err := s.reg.CreateRepository(ctx, rep); err != nil {
		if errors.Is(err, registry.ErrRepositoryExists) {
			return nil // made meanwhile by another request
		}
		return err
	}
	s.forgetPreview(ctx, caller{Account: repo.Account, Region: repo.Region}, repo.Name)
	if set.Lifecycle != nil && s.lifecycle != nil {
		s.lifecycle.Notify(repo)
	}
	tmpl := ""
	if found {
		tmpl = str(t.Prefix)
	}
	s.log.Info("repository created", "for", appliedFor, "account", repo.Account, "region", repo.Region, "repository", repo.Name, "template", tmpl)
	return nil
}
