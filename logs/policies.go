package logs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/store"
)

// Resource policies and saved Logs Insights query definitions are stored
// records; Berth does not evaluate the policies (no service delivers logs
// under them).
const (
	kindResourcePolicy  = "logs.resource-policy"
	kindQueryDefinition = "logs.query-definition"
)

// Quotas AWS documents for the two.
const (
	maxResourcePolicies  = 10
	maxQueryDefinitions  = 1000
	queryDefinitionLimit = 1000
)

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// policyKey is where a policy is kept: account-scoped policies under their
// name, a log group's policy under the group's ARN.
func policyKey(in *logsapi.PutResourcePolicyInput) string {
	if in.ResourceArn != nil {
		return "arn:" + *in.ResourceArn
	}
	return "name:" + str(in.PolicyName)
}

// PutResourcePolicy creates or replaces a resource policy.
func (s *Service) PutResourcePolicy(ctx context.Context, in *logsapi.PutResourcePolicyInput) (*logsapi.PutResourcePolicyOutput, error) {
	c := callerOf(ctx)
	if in.PolicyDocument == nil || !json.Valid([]byte(*in.PolicyDocument)) {
		return nil, invalidParam("policyDocument must be a valid JSON IAM policy document.")
	}
	scope := logsapi.PolicyScopeAccount
	if in.ResourceArn != nil {
		scope = logsapi.PolicyScopeResource
	} else if str(in.PolicyName) == "" {
		return nil, invalidParam("policyName is required for an account-level resource policy.")
	}
	p := logsapi.ResourcePolicy{
		PolicyName:      in.PolicyName,
		PolicyDocument:  in.PolicyDocument,
		LastUpdatedTime: ptr(ms(s.now())),
		PolicyScope:     &scope,
		ResourceArn:     in.ResourceArn,
	}
	// Only resource-scoped policies have revisions.
	if in.ResourceArn != nil {
		p.RevisionId = ptr(newID())
	}
	key := policyKey(in)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if in.ResourceArn != nil {
			name, err := c.groupOfARN(*in.ResourceArn)
			if err != nil {
				return err
			}
			if _, err := getGroup(tx, c, name); err != nil {
				return err
			}
		}
		old, err := tx.GetResource(kindResourcePolicy, c.Account, c.Region, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if in.ExpectedRevisionId != nil {
				return logsapi.NewResourceNotFoundException("The resource policy does not exist, so it has no revision %s.", *in.ExpectedRevisionId)
			}
			all, err := tx.ListResources(kindResourcePolicy, c.Account, c.Region, "name:", store.Page{})
			if err != nil {
				return err
			}
			if in.ResourceArn == nil && len(all) >= maxResourcePolicies {
				return logsapi.NewLimitExceededException("Resource limit exceeded.")
			}
		case err != nil:
			return err
		case in.ExpectedRevisionId != nil:
			var prev logsapi.ResourcePolicy
			if err := json.Unmarshal(old.Doc, &prev); err != nil {
				return err
			}
			if str(prev.RevisionId) != *in.ExpectedRevisionId {
				return logsapi.NewOperationAbortedException("The resource policy's revision is %s, not the expected %s.", str(prev.RevisionId), *in.ExpectedRevisionId)
			}
		}
		doc, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return tx.PutResource(store.Resource{Kind: kindResourcePolicy, Account: c.Account, Region: c.Region, ID: key, Doc: doc, UpdatedAt: s.now()})
	})
	if err != nil {
		return nil, apiErr("PutResourcePolicy", err)
	}
	return &logsapi.PutResourcePolicyOutput{ResourcePolicy: &p, RevisionId: p.RevisionId}, nil
}

// DescribeResourcePolicies lists the account's resource policies, or the
// policy of one log group.
func (s *Service) DescribeResourcePolicies(ctx context.Context, in *logsapi.DescribeResourcePoliciesInput) (*logsapi.DescribeResourcePoliciesOutput, error) {
	c := callerOf(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := limitOf(in.Limit, describeLimit)
	prefix := "name:"
	if in.ResourceArn != nil {
		prefix = "arn:" + *in.ResourceArn
	} else if in.PolicyScope != nil && *in.PolicyScope == logsapi.PolicyScopeResource {
		prefix = "arn:"
	}
	out := &logsapi.DescribeResourcePoliciesOutput{ResourcePolicies: []logsapi.ResourcePolicy{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		var err error
		out.ResourcePolicies, out.NextToken, err = pageOf[logsapi.ResourcePolicy](tx, c, kindResourcePolicy, prefix, after, limit)
		return err
	})
	if err != nil {
		return nil, apiErr("DescribeResourcePolicies", err)
	}
	return out, nil
}

// DeleteResourcePolicy deletes a resource policy.
func (s *Service) DeleteResourcePolicy(ctx context.Context, in *logsapi.DeleteResourcePolicyInput) (*logsapi.DeleteResourcePolicyOutput, error) {
	c := callerOf(ctx)
	key := policyKey(&logsapi.PutResourcePolicyInput{PolicyName: in.PolicyName, ResourceArn: in.ResourceArn})
	err := s.st.Update(ctx, func(tx store.Tx) error {
		old, err := tx.GetResource(kindResourcePolicy, c.Account, c.Region, key)
		if errors.Is(err, store.ErrNotFound) {
			return logsapi.NewResourceNotFoundException("Policy with name [%s] does not exist.", strings.TrimPrefix(strings.TrimPrefix(key, "name:"), "arn:"))
		}
		if err != nil {
			return err
		}
		if in.ExpectedRevisionId != nil {
			var prev logsapi.ResourcePolicy
			if err := json.Unmarshal(old.Doc, &prev); err != nil {
				return err
			}
			if str(prev.RevisionId) != *in.ExpectedRevisionId {
				return logsapi.NewOperationAbortedException("The resource policy's revision is %s, not the expected %s.", str(prev.RevisionId), *in.ExpectedRevisionId)
			}
		}
		return tx.DeleteResource(kindResourcePolicy, c.Account, c.Region, key)
	})
	if err != nil {
		return nil, apiErr("DeleteResourcePolicy", err)
	}
	return &logsapi.DeleteResourcePolicyOutput{}, nil
}

// PutQueryDefinition saves a Logs Insights query, or updates the one
// queryDefinitionId names.
func (s *Service) PutQueryDefinition(ctx context.Context, in *logsapi.PutQueryDefinitionInput) (*logsapi.PutQueryDefinitionOutput, error) {
	c := callerOf(ctx)
	lang := logsapi.QueryLanguageCwli
	if in.QueryLanguage != nil {
		lang = *in.QueryLanguage
	}
	id := str(in.QueryDefinitionId)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if id != "" {
			if _, err := tx.GetResource(kindQueryDefinition, c.Account, c.Region, id); errors.Is(err, store.ErrNotFound) {
				return logsapi.NewResourceNotFoundException("Query definition %s does not exist.", id)
			} else if err != nil {
				return err
			}
		} else {
			all, err := tx.ListResources(kindQueryDefinition, c.Account, c.Region, "", store.Page{Limit: maxQueryDefinitions})
			if err != nil {
				return err
			}
			if len(all) >= maxQueryDefinitions {
				return logsapi.NewLimitExceededException("Resource limit exceeded: an account can have %d query definitions per region.", maxQueryDefinitions)
			}
			id = newID()
		}
		doc, err := json.Marshal(logsapi.QueryDefinition{
			QueryLanguage: &lang, QueryDefinitionId: ptr(id), Name: in.Name, QueryString: in.QueryString,
			LastModified: ptr(ms(s.now())), LogGroupNames: in.LogGroupNames, Parameters: in.Parameters,
		})
		if err != nil {
			return err
		}
		return tx.PutResource(store.Resource{Kind: kindQueryDefinition, Account: c.Account, Region: c.Region, ID: id, Doc: doc, UpdatedAt: s.now()})
	})
	if err != nil {
		return nil, apiErr("PutQueryDefinition", err)
	}
	return &logsapi.PutQueryDefinitionOutput{QueryDefinitionId: ptr(id)}, nil
}

// DescribeQueryDefinitions lists saved queries, optionally those whose name
// starts with a prefix.
func (s *Service) DescribeQueryDefinitions(ctx context.Context, in *logsapi.DescribeQueryDefinitionsInput) (*logsapi.DescribeQueryDefinitionsOutput, error) {
	c := callerOf(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := limitOf(in.MaxResults, queryDefinitionLimit)
	out := &logsapi.DescribeQueryDefinitionsOutput{QueryDefinitions: []logsapi.QueryDefinition{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		all, err := tx.ListResources(kindQueryDefinition, c.Account, c.Region, "", store.Page{After: after})
		if err != nil {
			return err
		}
		for _, r := range all {
			var d logsapi.QueryDefinition
			if err := json.Unmarshal(r.Doc, &d); err != nil {
				return fmt.Errorf("query definition %s: %w", r.ID, err)
			}
			if !strings.HasPrefix(str(d.Name), str(in.QueryDefinitionNamePrefix)) ||
				in.QueryLanguage != nil && d.QueryLanguage != nil && *d.QueryLanguage != *in.QueryLanguage {
				continue
			}
			if len(out.QueryDefinitions) == limit {
				out.NextToken = encodeToken(*out.QueryDefinitions[limit-1].QueryDefinitionId)
				return nil
			}
			out.QueryDefinitions = append(out.QueryDefinitions, d)
		}
		return nil
	})
	if err != nil {
		return nil, apiErr("DescribeQueryDefinitions", err)
	}
	return out, nil
}

// DeleteQueryDefinition deletes a saved query.
func (s *Service) DeleteQueryDefinition(ctx context.Context, in *logsapi.DeleteQueryDefinitionInput) (*logsapi.DeleteQueryDefinitionOutput, error) {
	c := callerOf(ctx)
	id := *in.QueryDefinitionId
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetResource(kindQueryDefinition, c.Account, c.Region, id); errors.Is(err, store.ErrNotFound) {
			return logsapi.NewResourceNotFoundException("Query definition %s does not exist.", id)
		} else if err != nil {
			return err
		}
		return tx.DeleteResource(kindQueryDefinition, c.Account, c.Region, id)
	})
	if err != nil {
		return nil, apiErr("DeleteQueryDefinition", err)
	}
	return &logsapi.DeleteQueryDefinitionOutput{Success: ptr(true)}, nil
}
