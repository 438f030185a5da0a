package ssm

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	ssmapi "github.com/berth-dev/berth/api/ssm"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// version is one version of a parameter as stored.
type version struct {
	Name             string    `json:"name"`
	Version          int64     `json:"version"`
	Type             string    `json:"type"`
	Value            string    `json:"value"`
	Description      string    `json:"description,omitempty"`
	KeyID            string    `json:"keyId,omitempty"`
	AllowedPattern   string    `json:"allowedPattern,omitempty"`
	Tier             string    `json:"tier"`
	Policies         string    `json:"policies,omitempty"`
	DataType         string    `json:"dataType"`
	LastModified     time.Time `json:"lastModified"`
	LastModifiedUser string    `json:"lastModifiedUser"`
	Labels           []string  `json:"labels,omitempty"`
}

// paramDoc is a parameter as stored: its current version, tags, and the
// oldest version it still keeps.
type paramDoc struct {
	version
	Tags   []tag `json:"tags,omitempty"`
	Oldest int64 `json:"oldest"`
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// maxVersions is how many versions Parameter Store keeps of a parameter.
const maxVersions = 100

func versionID(k string, v int64) string { return fmt.Sprintf("%s#%020d", k, v) }

func getParam(tx store.Tx, c caller, k string) (*paramDoc, error) {
	var d paramDoc
	if err := store.ReadDoc(tx, KindParameter, c.Account, c.Region, k, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func putParam(tx store.Tx, c caller, d *paramDoc) error {
	return store.PutDoc(tx, KindParameter, c.Account, c.Region, key(d.Name), d, d.LastModified)
}

func getVersion(tx store.Tx, c caller, k string, v int64) (*version, error) {
	var out version
	if err := store.ReadDoc(tx, KindVersion, c.Account, c.Region, versionID(k, v), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func putVersion(tx store.Tx, c caller, v *version) error {
	return store.PutDoc(tx, KindVersion, c.Account, c.Region, versionID(key(v.Name), v.Version), v, v.LastModified)
}

// versions returns every stored version of the parameter with key k,
// oldest first.
func versions(tx store.Tx, c caller, k string) ([]*version, error) {
	out, _, err := store.AllDocs[*version](tx, KindVersion, c.Account, c.Region, k+"#", store.Page{})
	return out, err
}

// deleteParam removes a parameter with all its versions.
func deleteParam(tx store.Tx, c caller, k string) error {
	rs, err := tx.ListResources(KindVersion, c.Account, c.Region, k+"#", store.Page{})
	if err != nil {
		return err
	}
	for _, r := range rs {
		if err := store.DeleteDoc(tx, KindVersion, c.Account, c.Region, r.ID); err != nil {
			return err
		}
	}
	return tx.DeleteResource(KindParameter, c.Account, c.Region, k)
}

// resolve finds the version a reference selects. The parameter not
// existing is ParameterNotFound; a missing version ParameterVersionNotFound;
// an unknown label ParameterNotFound, as AWS answers.
func resolve(tx store.Tx, c caller, r ref) (*version, error) {
	k := key(r.Name)
	d, err := getParam(tx, c, k)
	if isNotFound(err) {
		return nil, parameterNotFound()
	}
	if err != nil {
		return nil, err
	}
	switch {
	case r.Version != 0:
		if r.Version == d.Version {
			return &d.version, nil
		}
		v, err := getVersion(tx, c, k, r.Version)
		if isNotFound(err) {
			return nil, versionNotFound(r.Version, r.Name)
		}
		return v, err
	case r.Label != "":
		vs, err := versions(tx, c, k)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			for _, l := range v.Labels {
				if l == r.Label {
					return v, nil
				}
			}
		}
		return nil, parameterNotFound()
	}
	return &d.version, nil
}

func versionNotFound(v int64, name string) error {
	return ssmapi.NewParameterVersionNotFound("Systems Manager could not find version %d of %s. Verify the version and try again.", v, name)
}

// shownValue is the value a read returns: a SecureString's plaintext only
// with decryption, else an opaque stand-in for AWS's ciphertext.
func shownValue(v *version, decrypt bool) string {
	if v.Type != string(ssmapi.ParameterTypeSecureString) || decrypt {
		return v.Value
	}
	return base64.StdEncoding.EncodeToString([]byte("berth:" + v.KeyID + ":" + v.Value))
}

// apiParameter is v as GetParameter and friends return it.
func apiParameter(c caller, v *version, r ref, decrypt bool) ssmapi.Parameter {
	p := ssmapi.Parameter{
		Name:             ptr(v.Name),
		Type:             ptr(ssmapi.ParameterType(v.Type)),
		Value:            ptr(shownValue(v, decrypt)),
		Version:          ptr(v.Version),
		LastModifiedDate: awsapi.Time(v.LastModified),
		ARN:              ptr(parameterARN(c, v.Name)),
		DataType:         ptr(v.DataType),
	}
	if r.Selector != "" {
		p.Selector = ptr(r.Selector)
	}
	return p
}

func apiMetadata(c caller, d *paramDoc) ssmapi.ParameterMetadata {
	m := ssmapi.ParameterMetadata{
		Name:             ptr(d.Name),
		ARN:              ptr(parameterARN(c, d.Name)),
		Type:             ptr(ssmapi.ParameterType(d.Type)),
		LastModifiedDate: awsapi.Time(d.LastModified),
		LastModifiedUser: ptr(d.LastModifiedUser),
		Version:          ptr(d.Version),
		Tier:             ptr(ssmapi.ParameterTier(d.Tier)),
		Policies:         apiPolicies(d.Policies),
		DataType:         ptr(d.DataType),
	}
	if d.KeyID != "" {
		m.KeyId = ptr(d.KeyID)
	}
	if d.Description != "" {
		m.Description = ptr(d.Description)
	}
	if d.AllowedPattern != "" {
		m.AllowedPattern = ptr(d.AllowedPattern)
	}
	return m
}

func apiHistory(v *version, decrypt bool) ssmapi.ParameterHistory {
	h := ssmapi.ParameterHistory{
		Name:             ptr(v.Name),
		Type:             ptr(ssmapi.ParameterType(v.Type)),
		LastModifiedDate: awsapi.Time(v.LastModified),
		LastModifiedUser: ptr(v.LastModifiedUser),
		Value:            ptr(shownValue(v, decrypt)),
		Version:          ptr(v.Version),
		Labels:           append([]string{}, v.Labels...),
		Tier:             ptr(ssmapi.ParameterTier(v.Tier)),
		Policies:         apiPolicies(v.Policies),
		DataType:         ptr(v.DataType),
	}
	if v.KeyID != "" {
		h.KeyId = ptr(v.KeyID)
	}
	if v.Description != "" {
		h.Description = ptr(v.Description)
	}
	if v.AllowedPattern != "" {
		h.AllowedPattern = ptr(v.AllowedPattern)
	}
	return h
}

// apiPolicies lists the policies of a parameter's Policies document (a
// JSON array of policy objects).
func apiPolicies(doc string) []ssmapi.ParameterInlinePolicy {
	out := []ssmapi.ParameterInlinePolicy{}
	var raw []json.RawMessage
	if doc == "" || json.Unmarshal([]byte(doc), &raw) != nil {
		return out
	}
	for _, r := range raw {
		var p struct {
			Type string `json:"Type"`
		}
		json.Unmarshal(r, &p)
		out = append(out, ssmapi.ParameterInlinePolicy{
			PolicyText:   ptr(strings.TrimSpace(string(r))),
			PolicyType:   ptr(p.Type),
			PolicyStatus: ptr("Pending"),
		})
	}
	return out
}
