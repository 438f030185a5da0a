package iam

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"slices"
	"strings"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// kindSAMLProvider holds the account's SAML identity providers by name.
const kindSAMLProvider = "iam.samlProvider"

const (
	maxSAMLProvidersPerAccount = 100
	maxSAMLPrivateKeys         = 2
)

// samlProviderRecord is a SAML provider as the store keeps it. Its
// private keys are checked on upload and, as IAM never returns them,
// only their ids are kept.
type samlProviderRecord struct {
	Name       string      `json:"name"`
	UUID       string      `json:"uuid"`
	Metadata   string      `json:"metadata"`
	Created    time.Time   `json:"created"`
	ValidUntil time.Time   `json:"validUntil,omitzero"`
	Encryption string      `json:"encryption,omitempty"`
	Keys       []samlKeyID `json:"keys,omitempty"`
	Tags       []tag       `json:"tags,omitempty"`
}

type samlKeyID struct {
	ID    string    `json:"id"`
	Added time.Time `json:"added"`
}

func (p samlProviderRecord) entityName() string { return p.Name }

func (p samlProviderRecord) arn(acct string) string {
	return "arn:aws:iam::" + acct + ":saml-provider/" + p.Name
}

// samlMetadata is what IAM needs of a SAML 2.0 metadata document: an
// EntityDescriptor of an identity provider, and when it stops being valid.
type samlMetadata struct {
	XMLName    xml.Name   `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	EntityID   string     `xml:"entityID,attr"`
	ValidUntil string     `xml:"validUntil,attr"`
	IDP        []struct{} `xml:"urn:oasis:names:tc:SAML:2.0:metadata IDPSSODescriptor"`
}

// parseSAMLMetadata checks a metadata document and returns its validUntil
// (zero when it has none).
func parseSAMLMetadata(doc string) (time.Time, error) {
	var m samlMetadata
	if err := xml.Unmarshal([]byte(doc), &m); err != nil {
		return time.Time{}, iamapi.NewInvalidInputException("Could not parse metadata: %v", err)
	}
	if m.EntityID == "" || len(m.IDP) == 0 {
		return time.Time{}, iamapi.NewInvalidInputException("Could not parse metadata: it must be a SAML 2.0 EntityDescriptor with an entityID and an IDPSSODescriptor.")
	}
	if m.ValidUntil == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, m.ValidUntil)
	if err != nil {
		return time.Time{}, iamapi.NewInvalidInputException("Could not parse metadata: validUntil %q is not an xs:dateTime.", m.ValidUntil)
	}
	return t.UTC(), nil
}

// parseSAMLARN reads arn:aws:iam::<account>:saml-provider/<name>.
func parseSAMLARN(arn string) (acct, name string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return "", "", false
	}
	acct, name, ok = strings.Cut(rest, ":saml-provider/")
	return acct, name, ok && isAccount(acct) && name != ""
}

// getSAMLProvider reads the provider an ARN of acct names.
func getSAMLProvider(tx store.Tx, acct, arn string) (samlProviderRecord, error) {
	a, name, ok := parseSAMLARN(arn)
	if !ok {
		return samlProviderRecord{}, iamapi.NewInvalidInputException("Invalid SAML provider ARN: %s", arn)
	}
	missing := func(string) error {
		return iamapi.NewNoSuchEntityException("Manifest not found for arn %s", arn)
	}
	if a != acct {
		return samlProviderRecord{}, missing(name)
	}
	return getNamed[samlProviderRecord](tx, kindSAMLProvider, acct, name, missing)
}

// applySAMLKeys sets the encryption mode and adds and removes private
// keys, as Create and Update take them.
func applySAMLKeys(p *samlProviderRecord, mode *iamapi.AssertionEncryptionModeType, add, remove *string, now time.Time) error {
	if mode != nil {
		p.Encryption = string(*mode)
	}
	if id := deref(remove); id != "" {
		i := slices.IndexFunc(p.Keys, func(k samlKeyID) bool { return k.ID == id })
		if i < 0 {
			return iamapi.NewInvalidInputException("Private key %s is not one of the provider's.", id)
		}
		p.Keys = slices.Delete(p.Keys, i, i+1)
	}
	if k := deref(add); k != "" {
		if _, err := parsePrivateKey(k); err != nil {
			return iamapi.NewInvalidInputException("The private key is not a PEM-encoded private key.")
		}
		if len(p.Keys) >= maxSAMLPrivateKeys {
			return iamapi.NewLimitExceededException("A SAML provider can have at most %d private keys.", maxSAMLPrivateKeys)
		}
		b := make([]byte, 12)
		rand.Read(b)
		p.Keys = append(p.Keys, samlKeyID{ID: strings.ToUpper(hex.EncodeToString(b)), Added: now})
	}
	if p.Encryption == string(iamapi.AssertionEncryptionModeTypeRequired) && len(p.Keys) == 0 {
		return iamapi.NewInvalidInputException("AssertionEncryptionMode Required needs a private key.")
	}
	return nil
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// CreateSAMLProvider registers a SAML 2.0 identity provider from its
// metadata document.
func (s *Service) CreateSAMLProvider(ctx context.Context, in *iamapi.CreateSAMLProviderInput) (*iamapi.CreateSAMLProviderOutput, error) {
	acct := account(ctx)
	valid, err := parseSAMLMetadata(*in.SAMLMetadataDocument)
	if err != nil {
		return nil, err
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	p := samlProviderRecord{Name: *in.Name, UUID: newUUID(), Metadata: *in.SAMLMetadataDocument, Created: s.clock(), ValidUntil: valid, Tags: tags}
	if err := applySAMLKeys(&p, in.AssertionEncryptionMode, in.AddPrivateKey, nil, p.Created); err != nil {
		return nil, err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		return create(tx, kindSAMLProvider, acct, p.Name, p, p.Created, func(samlProviderRecord) error {
			return iamapi.NewEntityAlreadyExistsException("SAMLProvider %s already exists", p.Name)
		}, maxSAMLProvidersPerAccount, iamapi.NewLimitExceededException("Cannot exceed quota for SAMLProvidersPerAccount: %d", maxSAMLProvidersPerAccount))
	})
	if err != nil {
		return nil, err
	}
	out := &iamapi.CreateSAMLProviderOutput{SAMLProviderArn: str(p.arn(acct))}
	if len(p.Tags) > 0 {
		out.Tags = wireTags(p.Tags)
	}
	return out, nil
}

// GetSAMLProvider returns a provider's metadata document and dates.
func (s *Service) GetSAMLProvider(ctx context.Context, in *iamapi.GetSAMLProviderInput) (*iamapi.GetSAMLProviderOutput, error) {
	p, err := view(ctx, s, *in.SAMLProviderArn, getSAMLProvider)
	if err != nil {
		return nil, err
	}
	out := &iamapi.GetSAMLProviderOutput{SAMLProviderUUID: str(p.UUID), SAMLMetadataDocument: str(p.Metadata), CreateDate: awsapi.Time(p.Created)}
	if !p.ValidUntil.IsZero() {
		out.ValidUntil = awsapi.Time(p.ValidUntil)
	}
	// IAM always answers with the mode (Allowed unless set) and with
	// Tags and PrivateKeyList, empty or not.
	out.Tags, out.PrivateKeyList = []iamapi.Tag{}, []iamapi.SAMLPrivateKey{}
	if len(p.Tags) > 0 {
		out.Tags = wireTags(p.Tags)
	}
	m := iamapi.AssertionEncryptionModeTypeAllowed
	if p.Encryption != "" {
		m = iamapi.AssertionEncryptionModeType(p.Encryption)
	}
	out.AssertionEncryptionMode = &m
	for _, k := range p.Keys {
		out.PrivateKeyList = append(out.PrivateKeyList, iamapi.SAMLPrivateKey{KeyId: str(k.ID), Timestamp: awsapi.Time(k.Added)})
	}
	return out, nil
}

// ListSAMLProviders lists the account's SAML providers.
func (s *Service) ListSAMLProviders(ctx context.Context, _ *iamapi.ListSAMLProvidersInput) (*iamapi.ListSAMLProvidersOutput, error) {
	acct := account(ctx)
	ps, err := viewAll[samlProviderRecord](ctx, s, kindSAMLProvider, acct)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListSAMLProvidersOutput{SAMLProviderList: []iamapi.SAMLProviderListEntry{}}
	for _, p := range ps {
		e := iamapi.SAMLProviderListEntry{Arn: str(p.arn(acct)), CreateDate: awsapi.Time(p.Created)}
		if !p.ValidUntil.IsZero() {
			e.ValidUntil = awsapi.Time(p.ValidUntil)
		}
		out.SAMLProviderList = append(out.SAMLProviderList, e)
	}
	return out, nil
}

// UpdateSAMLProvider replaces a provider's metadata document or changes
// its assertion encryption and keys.
func (s *Service) UpdateSAMLProvider(ctx context.Context, in *iamapi.UpdateSAMLProviderInput) (*iamapi.UpdateSAMLProviderOutput, error) {
	var valid time.Time
	if in.SAMLMetadataDocument != nil {
		var err error
		if valid, err = parseSAMLMetadata(*in.SAMLMetadataDocument); err != nil {
			return nil, err
		}
	}
	p, err := update(ctx, s, kindSAMLProvider, *in.SAMLProviderArn, getSAMLProvider, func(p *samlProviderRecord, _ store.Tx) error {
		if in.SAMLMetadataDocument != nil {
			p.Metadata, p.ValidUntil = *in.SAMLMetadataDocument, valid
		}
		return applySAMLKeys(p, in.AssertionEncryptionMode, in.AddPrivateKey, in.RemovePrivateKey, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateSAMLProviderOutput{SAMLProviderArn: str(p.arn(account(ctx)))}, nil
}

// DeleteSAMLProvider deletes a SAML provider.
func (s *Service) DeleteSAMLProvider(ctx context.Context, in *iamapi.DeleteSAMLProviderInput) (*iamapi.DeleteSAMLProviderOutput, error) {
	err := remove(ctx, s, kindSAMLProvider, *in.SAMLProviderArn, getSAMLProvider, func(samlProviderRecord, store.Tx) error { return nil })
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteSAMLProviderOutput{}, nil
}

func samlTags(p *samlProviderRecord) *[]tag { return &p.Tags }

// TagSAMLProvider adds tags to a SAML provider.
func (s *Service) TagSAMLProvider(ctx context.Context, in *iamapi.TagSAMLProviderInput) (*iamapi.TagSAMLProviderOutput, error) {
	if err := tagEntity(ctx, s, kindSAMLProvider, *in.SAMLProviderArn, getSAMLProvider, samlTags, in.Tags); err != nil {
		return nil, err
	}
	return &iamapi.TagSAMLProviderOutput{}, nil
}

// UntagSAMLProvider removes tags from a SAML provider.
func (s *Service) UntagSAMLProvider(ctx context.Context, in *iamapi.UntagSAMLProviderInput) (*iamapi.UntagSAMLProviderOutput, error) {
	if err := untagEntity(ctx, s, kindSAMLProvider, *in.SAMLProviderArn, getSAMLProvider, samlTags, in.TagKeys); err != nil {
		return nil, err
	}
	return &iamapi.UntagSAMLProviderOutput{}, nil
}

// ListSAMLProviderTags lists a SAML provider's tags by key.
func (s *Service) ListSAMLProviderTags(ctx context.Context, in *iamapi.ListSAMLProviderTagsInput) (*iamapi.ListSAMLProviderTagsOutput, error) {
	items, truncated, marker, err := entityTags(ctx, s, *in.SAMLProviderArn, getSAMLProvider, samlTags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListSAMLProviderTagsOutput{Tags: items, IsTruncated: truncated, Marker: marker}, nil
}
