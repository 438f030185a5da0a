package ecs

import (
	"context"
	"regexp"
	"slices"
	"strings"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Account settings are kept per scope and principal: id "<name>|<principal
// ARN>". The root user's value is the account default (what
// PutAccountSettingDefault writes): a principal without a value of its own
// gets the root's, and without that AWS's default.
const kindAccountSetting = "ecs.accountsetting"

// accountSettingRecord is one explicit setting of one principal.
type accountSettingRecord struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Principal string `json:"principal"`
}

// settingRule is what AWS accepts for a setting and what applies when
// nobody set it.
type settingRule struct {
	def      string
	values   []string
	rootOnly bool // only the root user may set it (fargateTaskRetirementWaitPeriod)
	readOnly bool // managed by AWS on the account's behalf (guardDutyActivate)
}

var (
	onOff       = []string{"enabled", "disabled", "on", "off"}
	settingsTab = map[ecsapi.SettingName]settingRule{
		ecsapi.SettingNameServiceLongArnFormat:            {def: "enabled", values: onOff},
		ecsapi.SettingNameTaskLongArnFormat:               {def: "enabled", values: onOff},
		ecsapi.SettingNameContainerInstanceLongArnFormat:  {def: "enabled", values: onOff},
		ecsapi.SettingNameAwsvpcTrunking:                  {def: "disabled", values: onOff},
		ecsapi.SettingNameContainerInsights:               {def: "disabled", values: []string{"enabled", "disabled", "enhanced", "on", "off"}},
		ecsapi.SettingNameFargateFIPSMode:                 {def: "disabled", values: onOff},
		ecsapi.SettingNameTagResourceAuthorization:        {def: "on", values: onOff},
		ecsapi.SettingNameFargateTaskRetirementWaitPeriod: {def: "7", values: []string{"0", "7", "14"}, rootOnly: true},
		ecsapi.SettingNameGuardDutyActivate:               {def: "off", values: onOff, readOnly: true},
		// AWS changed the default from blocking on June 25, 2025.
		ecsapi.SettingNameDefaultLogDriverMode: {def: "non-blocking", values: []string{"blocking", "non-blocking"}},
		ecsapi.SettingNameFargateEventWindows:  {def: "disabled", values: onOff},
	}
)

// settingNames is the order ListAccountSettings lists effective settings
// in: the model's.
var settingNames = []ecsapi.SettingName{
	ecsapi.SettingNameServiceLongArnFormat, ecsapi.SettingNameTaskLongArnFormat,
	ecsapi.SettingNameContainerInstanceLongArnFormat, ecsapi.SettingNameAwsvpcTrunking,
	ecsapi.SettingNameContainerInsights, ecsapi.SettingNameFargateFIPSMode,
	ecsapi.SettingNameTagResourceAuthorization, ecsapi.SettingNameFargateTaskRetirementWaitPeriod,
	ecsapi.SettingNameGuardDutyActivate, ecsapi.SettingNameDefaultLogDriverMode,
	ecsapi.SettingNameFargateEventWindows,
}

var principalPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):(root|user/.+|role/.+)$`)

// callerPrincipal is the principal a request without principalArn acts for:
// the IAM role of an assumed-role session, else the account's root (Berth's
// long-term keys act as root).
func callerPrincipal(ctx context.Context, sc scope) string {
	p := awsapi.IdentityFrom(ctx).Principal
	if rest, ok := strings.CutPrefix(p, "arn:"+partition(sc.region)+":sts::"+sc.account+":assumed-role/"); ok {
		role, _, _ := strings.Cut(rest, "/")
		return "arn:" + partition(sc.region) + ":iam::" + sc.account + ":role/" + role
	}
	if strings.Contains(p, ":iam::") {
		return p
	}
	return sc.rootPrincipal()
}

// principalOf resolves the principalArn parameter: the caller when empty,
// else an IAM user, role or root ARN of the caller's account.
func principalOf(ctx context.Context, sc scope, arn *string) (string, error) {
	if arn == nil || *arn == "" {
		return callerPrincipal(ctx, sc), nil
	}
	m := principalPattern.FindStringSubmatch(*arn)
	if m == nil {
		return "", ecsapi.NewInvalidParameterException("principalArn %s is not a valid IAM user, role or root ARN.", *arn)
	}
	if m[1] != sc.account {
		return "", ecsapi.NewInvalidParameterException("principalArn %s belongs to another account; account settings can only be managed within the account %s.", *arn, sc.account)
	}
	// The root user's ARN has one spelling.
	if m[2] == "root" {
		return sc.rootPrincipal(), nil
	}
	return *arn, nil
}

func settingKey(name ecsapi.SettingName, principal string) string {
	return string(name) + "|" + principal
}

func checkSettingValue(name ecsapi.SettingName, value string) (settingRule, error) {
	rule, ok := settingsTab[name]
	if !ok {
		return rule, ecsapi.NewInvalidParameterException("Invalid account setting name: %s.", name)
	}
	if rule.readOnly {
		return rule, ecsapi.NewInvalidParameterException("The %s account setting is managed by AWS on your behalf and cannot be modified.", name)
	}
	if !slices.Contains(rule.values, value) {
		return rule, ecsapi.NewInvalidParameterException("Invalid value '%s' for account setting %s. Valid values are: %s.", value, name, strings.Join(rule.values, ", "))
	}
	return rule, nil
}

func settingOut(name ecsapi.SettingName, value, principal string) ecsapi.Setting {
	typ := ecsapi.SettingTypeUser
	if settingsTab[name].readOnly {
		typ = ecsapi.SettingTypeAwsManaged
	}
	return ecsapi.Setting{Name: ptr(name), Value: ptr(value), PrincipalArn: ptr(principal), Type: ptr(typ)}
}

// effectiveSetting is what applies to principal: its own value, else the
// root user's (the account default), else AWS's default. It also returns
// the principal whose value it is.
func effectiveSetting(tx store.Tx, sc scope, name ecsapi.SettingName, principal string) (value, owner string, err error) {
	for _, p := range []string{principal, sc.rootPrincipal()} {
		r, err := getDoc[accountSettingRecord](tx, kindAccountSetting, sc, settingKey(name, p))
		if err != nil {
			return "", "", err
		}
		if r != nil {
			return r.Value, p, nil
		}
	}
	return settingsTab[name].def, sc.rootPrincipal(), nil
}

func (s *Service) putAccountSetting(ctx context.Context, sc scope, name ecsapi.SettingName, value, principal string) (*ecsapi.Setting, error) {
	rule, err := checkSettingValue(name, value)
	if err != nil {
		return nil, err
	}
	if rule.rootOnly && principal != sc.rootPrincipal() {
		return nil, ecsapi.NewInvalidParameterException("The %s account setting can only be set for the root user; specify the root user's ARN as principalArn or use PutAccountSettingDefault.", name)
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		return putDoc(tx, kindAccountSetting, sc, settingKey(name, principal),
			&accountSettingRecord{Name: string(name), Value: value, Principal: principal}, s.clock())
	})
	if err != nil {
		return nil, err
	}
	out := settingOut(name, value, principal)
	return &out, nil
}

// PutAccountSetting sets a setting for a principal (the caller when
// principalArn is omitted).
func (s *Service) PutAccountSetting(ctx context.Context, in *ecsapi.PutAccountSettingInput) (*ecsapi.PutAccountSettingOutput, error) {
	sc := scopeOf(ctx)
	principal, err := principalOf(ctx, sc, in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	st, err := s.putAccountSetting(ctx, sc, deref(in.Name), deref(in.Value), principal)
	if err != nil {
		return nil, err
	}
	return &ecsapi.PutAccountSettingOutput{Setting: st}, nil
}

// PutAccountSettingDefault sets the account default: the root user's value,
// which every principal without a value of its own inherits.
func (s *Service) PutAccountSettingDefault(ctx context.Context, in *ecsapi.PutAccountSettingDefaultInput) (*ecsapi.PutAccountSettingDefaultOutput, error) {
	sc := scopeOf(ctx)
	if in.Name == nil || in.Value == nil {
		return nil, ecsapi.NewInvalidParameterException("name and value are required.")
	}
	st, err := s.putAccountSetting(ctx, sc, *in.Name, *in.Value, sc.rootPrincipal())
	if err != nil {
		return nil, err
	}
	return &ecsapi.PutAccountSettingDefaultOutput{Setting: st}, nil
}

// DeleteAccountSetting removes a principal's own value, so that the account
// default applies to it again. It answers the setting that was removed.
func (s *Service) DeleteAccountSetting(ctx context.Context, in *ecsapi.DeleteAccountSettingInput) (*ecsapi.DeleteAccountSettingOutput, error) {
	sc := scopeOf(ctx)
	name := deref(in.Name)
	if _, ok := settingsTab[name]; !ok {
		return nil, ecsapi.NewInvalidParameterException("Invalid account setting name: %s.", name)
	}
	if settingsTab[name].readOnly {
		return nil, ecsapi.NewInvalidParameterException("The %s account setting is managed by AWS on your behalf and cannot be modified.", name)
	}
	principal, err := principalOf(ctx, sc, in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	var out ecsapi.Setting
	err = s.st.Update(ctx, func(tx store.Tx) error {
		key := settingKey(name, principal)
		r, err := getDoc[accountSettingRecord](tx, kindAccountSetting, sc, key)
		if err != nil {
			return err
		}
		if r == nil {
			// Nothing of the principal's own: answer what applies to it.
			v, _, err := effectiveSetting(tx, sc, name, principal)
			out = settingOut(name, v, principal)
			return err
		}
		out = settingOut(name, r.Value, principal)
		return deleteDoc(tx, kindAccountSetting, sc, key)
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DeleteAccountSettingOutput{Setting: &out}, nil
}

// ListAccountSettings lists a principal's settings: its own values, or with
// effectiveSettings every setting as it applies to it.
func (s *Service) ListAccountSettings(ctx context.Context, in *ecsapi.ListAccountSettingsInput) (*ecsapi.ListAccountSettingsOutput, error) {
	sc := scopeOf(ctx)
	if in.Value != nil && in.Name == nil {
		return nil, ecsapi.NewInvalidParameterException("To filter by value, an account setting name must also be specified.")
	}
	limit, after, err := pageParams(in.MaxResults, in.NextToken, 10, 10)
	if err != nil {
		return nil, err
	}
	principal, err := principalOf(ctx, sc, in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	names := settingNames
	if in.Name != nil {
		if _, ok := settingsTab[*in.Name]; !ok {
			return nil, ecsapi.NewInvalidParameterException("Invalid account setting name: %s.", *in.Name)
		}
		names = []ecsapi.SettingName{*in.Name}
	}
	var all []ecsapi.Setting
	err = s.st.View(ctx, func(tx store.Tx) error {
		all = all[:0]
		for _, name := range names {
			if deref(in.EffectiveSettings) {
				v, owner, err := effectiveSetting(tx, sc, name, principal)
				if err != nil {
					return err
				}
				all = append(all, settingOut(name, v, owner))
				continue
			}
			r, err := getDoc[accountSettingRecord](tx, kindAccountSetting, sc, settingKey(name, principal))
			if err != nil {
				return err
			}
			if r != nil {
				all = append(all, settingOut(name, r.Value, principal))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListAccountSettingsOutput{Settings: []ecsapi.Setting{}}
	started := after == ""
	for _, st := range all {
		if in.Value != nil && deref(st.Value) != *in.Value {
			continue
		}
		if !started {
			started = string(deref(st.Name)) == after
			continue
		}
		if len(out.Settings) == limit {
			out.NextToken = encodeToken(string(deref(out.Settings[limit-1].Name)))
			break
		}
		out.Settings = append(out.Settings, st)
	}
	return out, nil
}

// insightsDefault is the containerInsights value a new cluster gets when
// its creation does not set one: the containerInsights account setting as
// it applies to principal.
func insightsDefault(tx store.Tx, sc scope, principal string) (string, error) {
	v, _, err := effectiveSetting(tx, sc, ecsapi.SettingNameContainerInsights, principal)
	switch v {
	case "on":
		v = "enabled"
	case "off":
		v = "disabled"
	}
	return v, err
}
