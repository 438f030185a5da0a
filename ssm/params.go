package ssm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	ssmapi "github.com/berth-dev/berth/api/ssm"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/secrets"
	"github.com/berth-dev/berth/store"
)

// Value size limits of the tiers, in characters.
const (
	standardMaxValue = 4096
	advancedMaxValue = 8192
)

// DefaultKeyID is the key SecureString parameters name when KeyId is not
// given, as AWS's AWS-managed key for Parameter Store.
const DefaultKeyID = "alias/aws/ssm"

var amiID = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)

func validation(format string, args ...any) error {
	return awsapi.Errorf(awsapi.CodeValidation, format, args...)
}

func (s *Service) PutParameter(ctx context.Context, in *ssmapi.PutParameterInput) (*ssmapi.PutParameterOutput, error) {
	c := callerOf(ctx)
	name := strings.TrimSpace(deref(in.Name))
	if err := checkNewName(name); err != nil {
		return nil, err
	}
	value := deref(in.Value)
	if value == "" {
		return nil, validation("1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.")
	}
	overwrite := deref(in.Overwrite)
	if overwrite && len(in.Tags) > 0 {
		return nil, validation("Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
	}
	if in.DataType != nil {
		switch *in.DataType {
		case "text", "aws:ec2:image", "aws:ssm:integration":
		default:
			return nil, validation("The following data type is not supported: %s (Data type names are all lowercase.)", *in.DataType)
		}
	}
	if in.Policies != nil {
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(*in.Policies), &list); err != nil {
			return nil, ssmapi.NewInvalidPolicyTypeException("The policies are not a JSON array of parameter policies.")
		}
	}
	now := s.clock()
	var out *ssmapi.PutParameterOutput
	err := s.st.Update(ctx, func(tx store.Tx) error {
		k := key(name)
		old, err := getParam(tx, c, k)
		if err != nil && !isNotFound(err) {
			return err
		}
		if old != nil && !overwrite {
			return ssmapi.NewParameterAlreadyExists("The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
		}
		v := version{Name: name, Version: 1, LastModified: now, LastModifiedUser: userARN(c), Value: value, DataType: "text"}
		if old != nil {
			prev := old.version
			v.Name, v.Version = old.Name, old.Version+1
			v.Type, v.Description, v.KeyID, v.AllowedPattern = prev.Type, prev.Description, prev.KeyID, prev.AllowedPattern
			v.Tier, v.Policies, v.DataType = prev.Tier, prev.Policies, prev.DataType
		}
		if in.Type != nil {
			if old != nil && string(*in.Type) != old.Type {
				return ssmapi.NewHierarchyTypeMismatchException("Parameter Store doesn't support changing a parameter type in a hierarchy. For example, you can't change a parameter from a String type to a SecureString type. You must create a new, unique parameter.")
			}
			v.Type = string(*in.Type)
		}
		if v.Type == "" {
			return validation("A parameter type is required when you create a parameter.")
		}
		if in.Description != nil {
			v.Description = *in.Description
		}
		if in.AllowedPattern != nil {
			v.AllowedPattern = *in.AllowedPattern
		}
		if in.Policies != nil {
			v.Policies = *in.Policies
		}
		if in.DataType != nil {
			v.DataType = *in.DataType
		}
		if v.Type == string(ssmapi.ParameterTypeSecureString) {
			if in.KeyId != nil {
				v.KeyID = *in.KeyId
			} else if v.KeyID == "" {
				v.KeyID = DefaultKeyID
			}
		} else {
			v.KeyID = ""
		}
		if err := checkValue(&v); err != nil {
			return err
		}
		tier, err := resolveTier(in.Tier, old, &v)
		if err != nil {
			return err
		}
		v.Tier = tier

		d := &paramDoc{version: v, Oldest: 1}
		if old != nil {
			d.Tags, d.Oldest = old.Tags, old.Oldest
			if v.Version-d.Oldest+1 > maxVersions {
				oldest, err := getVersion(tx, c, k, d.Oldest)
				if err != nil && !isNotFound(err) {
					return err
				}
				if oldest != nil && len(oldest.Labels) > 0 {
					return ssmapi.NewParameterMaxVersionLimitExceeded("You attempted to create a new version of %s by calling the PutParameter API with the overwrite flag. Version %d, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.", old.Name, d.Oldest)
				}
				if err := store.DeleteDoc(tx, KindVersion, c.Account, c.Region, versionID(k, d.Oldest)); err != nil {
					return err
				}
				d.Oldest++
			}
		} else {
			d.Tags = mergeTags(nil, in.Tags)
		}
		if err := putVersion(tx, c, &v); err != nil {
			return err
		}
		out = &ssmapi.PutParameterOutput{Version: ptr(v.Version), Tier: ptr(ssmapi.ParameterTier(v.Tier))}
		return putParam(tx, c, d)
	})
	return out, err
}

// checkValue applies the data type and the allowed pattern to v's value.
func checkValue(v *version) error {
	if v.DataType == "aws:ec2:image" {
		if v.Type != string(ssmapi.ParameterTypeString) {
			return validation("The aws:ec2:image data type is only supported for String parameters.")
		}
		if !amiID.MatchString(v.Value) {
			return validation("Parameter value, %s, doesn't match the required format for the aws:ec2:image data type: an AMI ID such as ami-12345abcdeEXAMPLE.", v.Value)
		}
	}
	if v.AllowedPattern == "" {
		return nil
	}
	re, err := regexp.Compile(v.AllowedPattern)
	if err != nil {
		return ssmapi.NewInvalidAllowedPatternException("The allowed pattern %s is not a valid regular expression.", v.AllowedPattern)
	}
	items := []string{v.Value}
	if v.Type == string(ssmapi.ParameterTypeStringList) {
		items = strings.Split(v.Value, ",")
	}
	for _, item := range items {
		if !re.MatchString(item) {
			return ssmapi.NewParameterPatternMismatchException("Parameter value, cannot be validated against allowedPattern: %s", v.AllowedPattern)
		}
	}
	return nil
}

// resolveTier picks the tier of the new version v: the one asked for, else
// the parameter's, else Standard; Intelligent-Tiering picks the cheapest
// that fits. An advanced parameter cannot go back to Standard.
func resolveTier(asked *ssmapi.ParameterTier, old *paramDoc, v *version) (string, error) {
	tier := string(ssmapi.ParameterTierStandard)
	if old != nil {
		tier = old.Tier
	}
	if asked != nil {
		tier = string(*asked)
	}
	wasAdvanced := old != nil && old.Tier == string(ssmapi.ParameterTierAdvanced)
	if tier == string(ssmapi.ParameterTierIntelligentTiering) {
		tier = string(ssmapi.ParameterTierStandard)
		if wasAdvanced || len(v.Value) > standardMaxValue || v.Policies != "" {
			tier = string(ssmapi.ParameterTierAdvanced)
		}
	}
	if len(v.Value) > advancedMaxValue {
		return "", validation("Parameter value can have at most %d characters; this one has %d.", advancedMaxValue, len(v.Value))
	}
	if tier == string(ssmapi.ParameterTierStandard) {
		if wasAdvanced {
			return "", validation("This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.")
		}
		if len(v.Value) > standardMaxValue {
			return "", validation("Standard tier parameters support a maximum parameter value of %d characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html", standardMaxValue)
		}
		if v.Policies != "" {
			return "", ssmapi.NewIncompatiblePolicyException("Parameter policies are supported only for advanced parameters.")
		}
	}
	return tier, nil
}

func (s *Service) GetParameter(ctx context.Context, in *ssmapi.GetParameterInput) (*ssmapi.GetParameterOutput, error) {
	c := callerOf(ctx)
	r, ok := parseRef(c, deref(in.Name))
	if !ok {
		if strings.HasPrefix(deref(in.Name), "arn:") {
			return nil, parameterNotFound()
		}
		return nil, invalidName()
	}
	var out *ssmapi.GetParameterOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		p, err := s.read(tx, c, r, deref(in.WithDecryption))
		if err != nil {
			return err
		}
		echoName(p, deref(in.Name), r)
		out = &ssmapi.GetParameterOutput{Parameter: p}
		return nil
	})
	return out, err
}

// read is one parameter reference read in tx.
func (s *Service) read(tx store.Tx, c caller, r ref, decrypt bool) (*ssmapi.Parameter, error) {
	if strings.HasPrefix(r.Name, SecretsReferencePrefix) {
		return s.readSecret(tx, c, r, decrypt)
	}
	v, err := resolve(tx, c, r)
	if err != nil {
		return nil, err
	}
	p := apiParameter(c, v, r, decrypt)
	return &p, nil
}

// readSecret reads /aws/reference/secretsmanager/<secret-id>[:<version id
// or staging label>] from Secrets Manager.
func (s *Service) readSecret(tx store.Tx, c caller, r ref, decrypt bool) (*ssmapi.Parameter, error) {
	if !decrypt {
		return nil, validation("WithDecryption flag must be True for retrieving a Secret Manager secret.")
	}
	id := strings.TrimPrefix(r.Name, SecretsReferencePrefix)
	sel := strings.TrimPrefix(r.Selector, ":")
	now := s.clock()
	v, err := secrets.GetValue(tx, c.Account, c.Region, id, sel, "", now)
	if sel != "" && err != nil && awsapi.AsError(err) != nil {
		v, err = secrets.GetValue(tx, c.Account, c.Region, id, "", sel, now)
	}
	if err != nil {
		if awsapi.AsError(err) != nil {
			return nil, ssmapi.NewParameterNotFound("An error occurred (ParameterNotFound) when referencing Secrets Manager: Secret %s not found.", r.Name)
		}
		return nil, err
	}
	value := ""
	if v.String != nil {
		value = *v.String
	} else {
		value = base64.StdEncoding.EncodeToString(v.Binary)
	}
	source, _ := json.Marshal(map[string]any{
		"ARN": v.ARN, "Name": v.Name, "VersionId": v.VersionID, "VersionStages": v.Stages,
		"CreatedDate": awsapi.Time(v.Created),
	})
	p := &ssmapi.Parameter{
		Name:             ptr(r.Name),
		Type:             ptr(ssmapi.ParameterTypeSecureString),
		Value:            ptr(value),
		Version:          ptr(int64(0)),
		SourceResult:     ptr(string(source)),
		LastModifiedDate: awsapi.Time(v.Created),
		ARN:              ptr(v.ARN),
		DataType:         ptr("text"),
	}
	if r.Selector != "" {
		p.Selector = ptr(r.Selector)
	}
	return p, nil
}

func (s *Service) GetParameters(ctx context.Context, in *ssmapi.GetParametersInput) (*ssmapi.GetParametersOutput, error) {
	c := callerOf(ctx)
	decrypt := deref(in.WithDecryption)
	var out *ssmapi.GetParametersOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		out = &ssmapi.GetParametersOutput{Parameters: []ssmapi.Parameter{}, InvalidParameters: []string{}}
		seen := map[string]bool{}
		for _, n := range in.Names {
			if seen[n] {
				continue
			}
			seen[n] = true
			r, ok := parseRef(c, n)
			if !ok {
				out.InvalidParameters = append(out.InvalidParameters, n)
				continue
			}
			p, err := s.read(tx, c, r, decrypt)
			if e := awsapi.AsError(err); e != nil && e.Code != awsapi.CodeValidation {
				out.InvalidParameters = append(out.InvalidParameters, n)
				continue
			}
			if err != nil {
				return err
			}
			echoName(p, n, r)
			out.Parameters = append(out.Parameters, *p)
		}
		return nil
	})
	return out, err
}

// echoName names p as the caller asked for it: a single-level parameter
// is the same with or without its leading slash, and AWS answers in the
// form of the request (asking for "/p" of a parameter stored as "p" gets
// Name "/p"). A parameter asked for by ARN keeps its stored name.
func echoName(p *ssmapi.Parameter, asked string, r ref) {
	if p == nil || p.Name == nil || strings.HasPrefix(strings.TrimSpace(asked), "arn:") {
		return
	}
	if *p.Name != r.Name && key(*p.Name) == key(r.Name) {
		p.Name = ptr(r.Name)
	}
}

// nameRef parses the Name of an operation that takes no selector.
func nameRef(c caller, name string) (ref, error) {
	r, ok := parseRef(c, name)
	if !ok || r.Selector != "" || strings.HasPrefix(r.Name, SecretsReferencePrefix) {
		if strings.HasPrefix(name, "arn:") {
			return ref{}, parameterNotFound()
		}
		return ref{}, invalidName()
	}
	return r, nil
}

func (s *Service) DeleteParameter(ctx context.Context, in *ssmapi.DeleteParameterInput) (*ssmapi.DeleteParameterOutput, error) {
	c := callerOf(ctx)
	r, err := nameRef(c, deref(in.Name))
	if err != nil {
		return nil, err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		err := deleteParam(tx, c, key(r.Name))
		if isNotFound(err) {
			return parameterNotFound()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ssmapi.DeleteParameterOutput{}, nil
}

func (s *Service) DeleteParameters(ctx context.Context, in *ssmapi.DeleteParametersInput) (*ssmapi.DeleteParametersOutput, error) {
	c := callerOf(ctx)
	var out *ssmapi.DeleteParametersOutput
	err := s.st.Update(ctx, func(tx store.Tx) error {
		out = &ssmapi.DeleteParametersOutput{DeletedParameters: []string{}, InvalidParameters: []string{}}
		for _, n := range in.Names {
			r, err := nameRef(c, n)
			if err == nil {
				err = deleteParam(tx, c, key(r.Name))
			}
			switch {
			case err == nil:
				out.DeletedParameters = append(out.DeletedParameters, n)
			case isNotFound(err) || awsapi.AsError(err) != nil:
				out.InvalidParameters = append(out.InvalidParameters, n)
			default:
				return err
			}
		}
		return nil
	})
	return out, err
}

func (s *Service) GetParameterHistory(ctx context.Context, in *ssmapi.GetParameterHistoryInput) (*ssmapi.GetParameterHistoryOutput, error) {
	c := callerOf(ctx)
	r, err := nameRef(c, deref(in.Name))
	if err != nil {
		return nil, err
	}
	limit := int(deref(in.MaxResults))
	if limit == 0 {
		limit = 50
	}
	start, err := decodeOffset(in.NextToken)
	if err != nil {
		return nil, err
	}
	var out *ssmapi.GetParameterHistoryOutput
	err = s.st.View(ctx, func(tx store.Tx) error {
		k := key(r.Name)
		if _, err := getParam(tx, c, k); err != nil {
			if isNotFound(err) {
				return parameterNotFound()
			}
			return err
		}
		vs, err := versions(tx, c, k)
		if err != nil {
			return err
		}
		all := make([]ssmapi.ParameterHistory, len(vs))
		for i, v := range vs {
			all[i] = apiHistory(v, deref(in.WithDecryption))
		}
		out = &ssmapi.GetParameterHistoryOutput{}
		out.Parameters, out.NextToken = page(all, start, limit)
		return nil
	})
	return out, err
}

func (s *Service) LabelParameterVersion(ctx context.Context, in *ssmapi.LabelParameterVersionInput) (*ssmapi.LabelParameterVersionOutput, error) {
	c := callerOf(ctx)
	r, err := nameRef(c, deref(in.Name))
	if err != nil {
		return nil, err
	}
	var out *ssmapi.LabelParameterVersionOutput
	err = s.st.Update(ctx, func(tx store.Tx) error {
		k := key(r.Name)
		d, err := getParam(tx, c, k)
		if isNotFound(err) {
			return parameterNotFound()
		}
		if err != nil {
			return err
		}
		want := d.Version
		if in.ParameterVersion != nil {
			want = *in.ParameterVersion
		}
		vs, err := versions(tx, c, k)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(vs, func(v *version) bool { return v.Version == want })
		if i < 0 {
			return versionNotFound(want, r.Name)
		}
		target := vs[i]
		out = &ssmapi.LabelParameterVersionOutput{InvalidLabels: []string{}, ParameterVersion: ptr(want)}
		var add []string
		for _, l := range in.Labels {
			if !labelValid(l) {
				out.InvalidLabels = append(out.InvalidLabels, l)
			} else if !slices.Contains(target.Labels, l) && !slices.Contains(add, l) {
				add = append(add, l)
			}
		}
		if len(target.Labels)+len(add) > 10 {
			return ssmapi.NewParameterVersionLabelLimitExceeded("A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.")
		}
		for _, v := range vs {
			changed := false
			if v == target {
				v.Labels, changed = append(v.Labels, add...), len(add) > 0
			} else if n := len(v.Labels); n > 0 {
				v.Labels = slices.DeleteFunc(v.Labels, func(l string) bool { return slices.Contains(add, l) })
				changed = len(v.Labels) != n
			}
			if !changed {
				continue
			}
			if err := putVersion(tx, c, v); err != nil {
				return err
			}
			if v.Version == d.Version {
				d.Labels = v.Labels
				if err := putParam(tx, c, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

func (s *Service) UnlabelParameterVersion(ctx context.Context, in *ssmapi.UnlabelParameterVersionInput) (*ssmapi.UnlabelParameterVersionOutput, error) {
	c := callerOf(ctx)
	r, err := nameRef(c, deref(in.Name))
	if err != nil {
		return nil, err
	}
	var out *ssmapi.UnlabelParameterVersionOutput
	err = s.st.Update(ctx, func(tx store.Tx) error {
		k := key(r.Name)
		d, err := getParam(tx, c, k)
		if isNotFound(err) {
			return parameterNotFound()
		}
		if err != nil {
			return err
		}
		v, err := getVersion(tx, c, k, deref(in.ParameterVersion))
		if isNotFound(err) {
			return versionNotFound(deref(in.ParameterVersion), r.Name)
		}
		if err != nil {
			return err
		}
		out = &ssmapi.UnlabelParameterVersionOutput{RemovedLabels: []string{}, InvalidLabels: []string{}}
		for _, l := range in.Labels {
			if slices.Contains(v.Labels, l) {
				out.RemovedLabels = append(out.RemovedLabels, l)
			} else {
				out.InvalidLabels = append(out.InvalidLabels, l)
			}
		}
		if len(out.RemovedLabels) == 0 {
			return nil
		}
		v.Labels = slices.DeleteFunc(v.Labels, func(l string) bool { return slices.Contains(out.RemovedLabels, l) })
		if err := putVersion(tx, c, v); err != nil {
			return err
		}
		if v.Version == d.Version {
			d.Labels = v.Labels
			return putParam(tx, c, d)
		}
		return nil
	})
	return out, err
}
