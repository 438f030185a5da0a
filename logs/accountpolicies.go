package logs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/store"
)

// Account policies are stored records with ids "TYPE/NAME". Data
// protection policies are applied on read (dataprotection.go), field index
// policies are listed by DescribeIndexPolicies/DescribeFieldIndexes, and
// transformer policies transform at ingestion where no log group
// transformer overrides them; subscription filter policies deliver
// nothing, like subscription filters.
const kindAccountPolicy = "logs.account-policy"

// Per-type quotas AWS documents: one data protection and one subscription
// filter policy per account and region, 20 field index and 20 transformer
// policies.
var maxAccountPolicies = map[logsapi.PolicyType]int{
	logsapi.PolicyTypeDataProtectionPolicy:     1,
	logsapi.PolicyTypeSubscriptionFilterPolicy: 1,
	logsapi.PolicyTypeFieldIndexPolicy:         20,
	logsapi.PolicyTypeTransformerPolicy:        20,
	logsapi.PolicyTypeMetricExtractionPolicy:   20,
}

var (
	notInCriteriaRE  = regexp.MustCompile(`^\s*LogGroupName\s+NOT\s+IN\s+(\[.*\])\s*$`)
	prefixCriteriaRE = regexp.MustCompile(`^\s*LogGroupNamePrefix\s+IN\s+(\[.*\])\s*$`)
)

// criteriaList parses the JSON list of a selection criteria.
func criteriaList(re *regexp.Regexp, criteria, want string, max int) ([]string, error) {
	m := re.FindStringSubmatch(criteria)
	var names []string
	if m == nil || json.Unmarshal([]byte(m[1]), &names) != nil {
		return nil, invalidParam("Invalid selectionCriteria %q: expected %s.", criteria, want)
	}
	if len(names) > max {
		return nil, invalidParam("selectionCriteria can list at most %d log groups.", max)
	}
	return names, nil
}

// accountPolicyApplies reports whether an account policy covers a group.
func accountPolicyApplies(p logsapi.AccountPolicy, group string) bool {
	crit := str(p.SelectionCriteria)
	if crit == "" {
		return true
	}
	if m := notInCriteriaRE.FindStringSubmatch(crit); m != nil {
		var names []string
		_ = json.Unmarshal([]byte(m[1]), &names)
		for _, n := range names {
			if n == group {
				return false
			}
		}
		return true
	}
	if m := prefixCriteriaRE.FindStringSubmatch(crit); m != nil {
		var prefixes []string
		_ = json.Unmarshal([]byte(m[1]), &prefixes)
		for _, p := range prefixes {
			if strings.HasPrefix(group, p) {
				return true
			}
		}
	}
	return false
}

// accountPolicies returns the account's policies of one type.
func accountPolicies(tx store.Tx, c caller, typ logsapi.PolicyType) ([]logsapi.AccountPolicy, error) {
	recs, err := tx.ListResources(kindAccountPolicy, c.Account, c.Region, string(typ)+"/", store.Page{})
	if err != nil {
		return nil, err
	}
	out := make([]logsapi.AccountPolicy, 0, len(recs))
	for _, r := range recs {
		var p logsapi.AccountPolicy
		if err := json.Unmarshal(r.Doc, &p); err != nil {
			return nil, fmt.Errorf("account policy %s: %w", r.ID, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// checkAccountPolicy validates the document and selection criteria of a
// policy of the given type.
func checkAccountPolicy(in *logsapi.PutAccountPolicyInput) error {
	doc := *in.PolicyDocument
	crit := str(in.SelectionCriteria)
	switch *in.PolicyType {
	case logsapi.PolicyTypeDataProtectionPolicy:
		if crit != "" {
			return invalidParam("selectionCriteria is not supported for a DATA_PROTECTION_POLICY; it applies to every log group (scope ALL).")
		}
		_, err := compileDataProtection(doc)
		return err
	case logsapi.PolicyTypeSubscriptionFilterPolicy:
		var d struct {
			DestinationArn string `json:"DestinationArn"`
			RoleArn        string `json:"RoleArn"`
			FilterPattern  string `json:"FilterPattern"`
			Distribution   string `json:"Distribution"`
		}
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return invalidParam("Invalid subscription filter policy document: %v", err)
		}
		if !destinationRE.MatchString(d.DestinationArn) {
			return invalidParam("Invalid DestinationArn %q in the subscription filter policy.", d.DestinationArn)
		}
		if d.Distribution != "" && d.Distribution != string(logsapi.DistributionRandom) && d.Distribution != string(logsapi.DistributionByLogStream) {
			return invalidParam("Invalid Distribution %q: use Random or ByLogStream.", d.Distribution)
		}
		if crit != "" {
			_, err := criteriaList(notInCriteriaRE, crit, `LogGroupName NOT IN ["group", ...]`, 50)
			return err
		}
	case logsapi.PolicyTypeFieldIndexPolicy:
		if _, err := indexFields(doc); err != nil {
			return err
		}
		if crit != "" {
			_, err := criteriaList(prefixCriteriaRE, crit, `LogGroupNamePrefix IN ["prefix"]`, 1)
			return err
		}
	case logsapi.PolicyTypeTransformerPolicy:
		var d struct {
			TransformerConfig []logsapi.Processor `json:"transformerConfig"`
		}
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return invalidParam("Invalid transformer policy document: %v", err)
		}
		if err := checkTransformer(d.TransformerConfig); err != nil {
			return err
		}
		if crit != "" {
			_, err := criteriaList(prefixCriteriaRE, crit, `LogGroupNamePrefix IN ["prefix"]`, 1)
			return err
		}
	default:
		if !json.Valid([]byte(doc)) {
			return invalidParam("policyDocument must be JSON.")
		}
	}
	return nil
}

// PutAccountPolicy creates or replaces an account policy.
func (s *Service) PutAccountPolicy(ctx context.Context, in *logsapi.PutAccountPolicyInput) (*logsapi.PutAccountPolicyOutput, error) {
	c := callerOf(ctx)
	if in.Scope != nil && *in.Scope != logsapi.ScopeAll {
		return nil, invalidParam("The only valid scope is ALL.")
	}
	if err := checkAccountPolicy(in); err != nil {
		return nil, err
	}
	p := logsapi.AccountPolicy{
		PolicyName: in.PolicyName, PolicyDocument: in.PolicyDocument, PolicyType: in.PolicyType,
		Scope: ptr(logsapi.ScopeAll), SelectionCriteria: in.SelectionCriteria,
		LastUpdatedTime: ptr(ms(s.now())), AccountId: ptr(c.Account),
	}
	id := string(*in.PolicyType) + "/" + *in.PolicyName
	err := s.st.Update(ctx, func(tx store.Tx) error {
		existing, err := accountPolicies(tx, c, *in.PolicyType)
		if err != nil {
			return err
		}
		others := 0
		for _, o := range existing {
			if *o.PolicyName == *in.PolicyName {
				continue
			}
			others++
			if *in.PolicyType == logsapi.PolicyTypeTransformerPolicy && in.SelectionCriteria != nil && o.SelectionCriteria != nil {
				if a, b := criteriaPrefix(*in.SelectionCriteria), criteriaPrefix(*o.SelectionCriteria); strings.HasPrefix(a, b) || strings.HasPrefix(b, a) {
					return invalidParam("The prefix of transformer policy %s overlaps that of %s; transformer policy prefixes may not contain one another.", *in.PolicyName, *o.PolicyName)
				}
			}
		}
		if limit, ok := maxAccountPolicies[*in.PolicyType]; ok && others >= limit {
			return logsapi.NewLimitExceededException("An account can have at most %d account policies of type %s in a region.", limit, *in.PolicyType)
		}
		doc, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return tx.PutResource(store.Resource{Kind: kindAccountPolicy, Account: c.Account, Region: c.Region, ID: id, Doc: doc, UpdatedAt: s.now()})
	})
	if err != nil {
		return nil, apiErr("PutAccountPolicy", err)
	}
	return &logsapi.PutAccountPolicyOutput{AccountPolicy: &p}, nil
}

func criteriaPrefix(crit string) string {
	if m := prefixCriteriaRE.FindStringSubmatch(crit); m != nil {
		var l []string
		if json.Unmarshal([]byte(m[1]), &l) == nil && len(l) == 1 {
			return l[0]
		}
	}
	return crit
}

// DescribeAccountPolicies lists the account's policies of a type.
func (s *Service) DescribeAccountPolicies(ctx context.Context, in *logsapi.DescribeAccountPoliciesInput) (*logsapi.DescribeAccountPoliciesOutput, error) {
	c := callerOf(ctx)
	out := &logsapi.DescribeAccountPoliciesOutput{AccountPolicies: []logsapi.AccountPolicy{}}
	err := s.st.View(ctx, func(tx store.Tx) error {
		all, err := accountPolicies(tx, c, *in.PolicyType)
		for _, p := range all {
			if in.PolicyName == nil || *in.PolicyName == *p.PolicyName {
				out.AccountPolicies = append(out.AccountPolicies, p)
			}
		}
		return err
	})
	if err != nil {
		return nil, apiErr("DescribeAccountPolicies", err)
	}
	return out, nil
}

// DeleteAccountPolicy deletes an account policy.
func (s *Service) DeleteAccountPolicy(ctx context.Context, in *logsapi.DeleteAccountPolicyInput) (*logsapi.DeleteAccountPolicyOutput, error) {
	c := callerOf(ctx)
	id := string(*in.PolicyType) + "/" + *in.PolicyName
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetResource(kindAccountPolicy, c.Account, c.Region, id); errors.Is(err, store.ErrNotFound) {
			return logsapi.NewResourceNotFoundException("Policy with name [%s] does not exist", *in.PolicyName)
		} else if err != nil {
			return err
		}
		return tx.DeleteResource(kindAccountPolicy, c.Account, c.Region, id)
	})
	if err != nil {
		return nil, apiErr("DeleteAccountPolicy", err)
	}
	return &logsapi.DeleteAccountPolicyOutput{}, nil
}
