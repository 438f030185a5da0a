package logs

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/store"
)

// A data protection policy masks sensitive terms in what GetLogEvents,
// FilterLogEvents and GetLogRecord return unless the caller asks to
// unmask. AWS masks at ingestion and keeps the original for unmask; Berth
// keeps the original and masks on read the events ingested at or after the
// policy was put, which looks the same to a client.
const kindDataProtection = "logs.data-protection-policy"

// maskText is what a sensitive term is replaced with.
const maskText = "****"

// dataIdentifierPrefix starts the ARNs of AWS's managed data identifiers.
const dataIdentifierPrefix = "arn:aws:dataprotection::aws:data-identifier/"

// managedIdentifiers are the managed data identifiers Berth detects. The
// others AWS has are accepted in a policy and mask nothing.
var managedIdentifiers = map[string]*regexp.Regexp{
	"EmailAddress": regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`),
	"IpAddress": regexp.MustCompile(`\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\b|` +
		`\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b`),
	// A secret access key is 40 base64 characters; RE2 has no lookaround,
	// so the match is the key plus at most one delimiter on each side,
	// which mask() keeps.
	"AwsSecretKey": regexp.MustCompile(`(?:^|[^A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`),
	// 13 to 19 digits, optionally grouped by spaces or dashes, that pass
	// the Luhn check.
	"CreditCardNumber": regexp.MustCompile(`\b(?:[0-9][ -]?){12,18}[0-9]\b`),
}

// dataProtectionDoc is the part of a policy document Berth reads.
type dataProtectionDoc struct {
	Name          string `json:"Name"`
	Version       string `json:"Version"`
	Configuration *struct {
		CustomDataIdentifier []struct {
			Name  string `json:"Name"`
			Regex string `json:"Regex"`
		} `json:"CustomDataIdentifier"`
	} `json:"Configuration"`
	Statement []struct {
		Sid            string          `json:"Sid"`
		DataIdentifier []string        `json:"DataIdentifier"`
		Operation      json.RawMessage `json:"Operation"`
	} `json:"Statement"`
}

// masker is the compiled terms of the policies that apply to a log group;
// events ingested before since are left as they are.
type masker struct {
	since int64
	terms []maskTerm
}

type maskTerm struct {
	name string
	re   *regexp.Regexp
}

// compileDataProtection validates a policy document as AWS does (an Audit
// block and a Deidentify block with MaskConfig, naming the same data
// identifiers) and compiles what it masks.
func compileDataProtection(doc string) ([]maskTerm, error) {
	var d dataProtectionDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, invalidParam("Invalid data protection policy document: %v", err)
	}
	custom := map[string]*regexp.Regexp{}
	if d.Configuration != nil {
		if len(d.Configuration.CustomDataIdentifier) > 10 {
			return nil, invalidParam("A data protection policy can have at most 10 custom data identifiers.")
		}
		for _, c := range d.Configuration.CustomDataIdentifier {
			if c.Name == "" || c.Regex == "" || len(c.Regex) > 200 {
				return nil, invalidParam("A custom data identifier needs a Name and a Regex of at most 200 characters.")
			}
			re, err := regexp.Compile(c.Regex)
			if err != nil {
				return nil, invalidParam("Custom data identifier %s: invalid Regex: %v", c.Name, err)
			}
			custom[c.Name] = re
		}
	}
	var audit, deidentify []string
	for _, st := range d.Statement {
		var op struct {
			Audit      json.RawMessage `json:"Audit"`
			Deidentify *struct {
				MaskConfig *json.RawMessage `json:"MaskConfig"`
			} `json:"Deidentify"`
		}
		if len(st.DataIdentifier) == 0 || json.Unmarshal(st.Operation, &op) != nil {
			return nil, invalidParam("Every statement of a data protection policy needs a DataIdentifier array and an Operation.")
		}
		for _, id := range st.DataIdentifier {
			if _, ok := custom[id]; !ok && !strings.HasPrefix(id, "arn:aws:dataprotection::aws:data-identifier/") {
				return nil, invalidParam("Invalid data identifier %s: use an ARN like %sEmailAddress or the Name of a custom data identifier.", id, dataIdentifierPrefix)
			}
		}
		switch {
		case op.Audit != nil:
			audit = st.DataIdentifier
		case op.Deidentify != nil:
			if op.Deidentify.MaskConfig == nil || strings.TrimSpace(string(*op.Deidentify.MaskConfig)) != "{}" {
				return nil, invalidParam("The Deidentify operation must contain an empty \"MaskConfig\": {} object.")
			}
			deidentify = st.DataIdentifier
		default:
			return nil, invalidParam("A statement's Operation must be Audit or Deidentify.")
		}
	}
	if audit == nil || deidentify == nil {
		return nil, invalidParam("A data protection policy must have two statements: one with an Audit operation and one with a Deidentify operation.")
	}
	a, b := slices.Clone(audit), slices.Clone(deidentify)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		return nil, invalidParam("The DataIdentifier arrays of the Audit and Deidentify statements must match exactly.")
	}
	var terms []maskTerm
	for _, id := range deidentify {
		if re, ok := custom[id]; ok {
			terms = append(terms, maskTerm{name: id, re: re})
		} else if re, ok := managedIdentifiers[strings.TrimPrefix(id, dataIdentifierPrefix)]; ok {
			terms = append(terms, maskTerm{name: strings.TrimPrefix(id, dataIdentifierPrefix), re: re})
		}
	}
	return terms, nil
}

// luhn reports whether the digits of s pass the Luhn checksum.
func luhn(s string) bool {
	sum, n, double := 0, 0, false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
		double = !double
	}
	return n >= 13 && n <= 19 && sum%10 == 0
}

// mask returns the message with the sensitive terms replaced.
func (m *masker) mask(e store.LogEvent) string {
	if m == nil || len(m.terms) == 0 || e.Ingested < m.since {
		return e.Message
	}
	msg := e.Message
	for _, t := range m.terms {
		switch t.name {
		case "AwsSecretKey":
			msg = t.re.ReplaceAllStringFunc(msg, func(s string) string {
				sub := t.re.FindStringSubmatchIndex(s)
				return s[:sub[2]] + maskText + s[sub[3]:]
			})
		case "CreditCardNumber":
			msg = t.re.ReplaceAllStringFunc(msg, func(s string) string {
				if luhn(s) {
					return maskText
				}
				return s
			})
		default:
			msg = t.re.ReplaceAllString(msg, maskText)
		}
	}
	return msg
}

// maskerFor reads the data protection policies that apply to a group: its
// own and the account's. nil when there is none.
func maskerFor(tx store.Tx, c caller, g store.LogGroup) (*masker, error) {
	var m *masker
	add := func(doc string, since int64) error {
		terms, err := compileDataProtection(doc)
		if err != nil {
			return err
		}
		if m == nil {
			m = &masker{since: since}
		}
		m.since = min(m.since, since)
		m.terms = append(m.terms, terms...)
		return nil
	}
	r, err := tx.GetResource(kindDataProtection, c.Account, c.Region, filterID(g.Name, ""))
	switch {
	case err == nil:
		var p logsapi.GetDataProtectionPolicyOutput
		if err := json.Unmarshal(r.Doc, &p); err != nil {
			return nil, err
		}
		if err := add(str(p.PolicyDocument), *p.LastUpdatedTime); err != nil {
			return nil, err
		}
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	acct, err := accountPolicies(tx, c, logsapi.PolicyTypeDataProtectionPolicy)
	if err != nil {
		return nil, err
	}
	for _, p := range acct {
		if err := add(str(p.PolicyDocument), *p.LastUpdatedTime); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func unmasked(p *bool) bool { return p != nil && *p }

// dataProtectedGroups is the set of the caller's log groups that have a
// data protection policy of their own (DescribeLogGroups'
// dataProtectionStatus).
func dataProtectedGroups(tx store.Tx, c caller) (map[string]bool, error) {
	recs, err := tx.ListResources(kindDataProtection, c.Account, c.Region, "", store.Page{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(recs))
	for _, r := range recs {
		out[strings.TrimSuffix(r.ID, ":")] = true
	}
	return out, nil
}

// PutDataProtectionPolicy sets a log group's data protection policy.
func (s *Service) PutDataProtectionPolicy(ctx context.Context, in *logsapi.PutDataProtectionPolicyInput) (*logsapi.PutDataProtectionPolicyOutput, error) {
	c := callerOf(ctx)
	name, err := c.identifierName(*in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if _, err := compileDataProtection(*in.PolicyDocument); err != nil {
		return nil, err
	}
	out := &logsapi.PutDataProtectionPolicyOutput{LogGroupIdentifier: in.LogGroupIdentifier, PolicyDocument: in.PolicyDocument, LastUpdatedTime: ptr(ms(s.now()))}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, name)
		if err != nil {
			return err
		}
		doc, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return tx.PutResource(store.Resource{Kind: kindDataProtection, Account: c.Account, Region: c.Region, ID: filterID(g.Name, ""), Doc: doc, UpdatedAt: s.now()})
	})
	if err != nil {
		return nil, apiErr("PutDataProtectionPolicy", err)
	}
	return out, nil
}

// GetDataProtectionPolicy returns a log group's data protection policy; a
// group without one answers with no document, as AWS does.
func (s *Service) GetDataProtectionPolicy(ctx context.Context, in *logsapi.GetDataProtectionPolicyInput) (*logsapi.GetDataProtectionPolicyOutput, error) {
	c := callerOf(ctx)
	name, err := c.identifierName(*in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	out := &logsapi.GetDataProtectionPolicyOutput{LogGroupIdentifier: in.LogGroupIdentifier}
	err = s.st.View(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, name)
		if err != nil {
			return err
		}
		r, err := tx.GetResource(kindDataProtection, c.Account, c.Region, filterID(g.Name, ""))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(r.Doc, out); err != nil {
			return err
		}
		out.LogGroupIdentifier = in.LogGroupIdentifier
		return nil
	})
	if err != nil {
		return nil, apiErr("GetDataProtectionPolicy", err)
	}
	return out, nil
}

// DeleteDataProtectionPolicy removes a log group's data protection policy.
func (s *Service) DeleteDataProtectionPolicy(ctx context.Context, in *logsapi.DeleteDataProtectionPolicyInput) (*logsapi.DeleteDataProtectionPolicyOutput, error) {
	c := callerOf(ctx)
	name, err := c.identifierName(*in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		return deleteGroupChild(tx, c, name, "", kindDataProtection, "The specified log group has no data protection policy.")
	})
	if err != nil {
		return nil, apiErr("DeleteDataProtectionPolicy", err)
	}
	return &logsapi.DeleteDataProtectionPolicyOutput{}, nil
}
