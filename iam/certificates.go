package iam

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// kindServerCert holds the account's server certificates by name.
const kindServerCert = "iam.serverCertificate"

// Quotas of certificates, as IAM's defaults.
const (
	maxSigningCertsPerUser   = 2
	maxServerCertsPerAccount = 20
)

// signingCert is an X.509 signing certificate of a user, as the store
// keeps it (in the user's record).
type signingCert struct {
	ID       string    `json:"id"`
	Body     string    `json:"body"`
	Status   string    `json:"status"`
	Uploaded time.Time `json:"uploaded"`
}

// serverCertRecord is a server certificate as the store keeps it. The
// private key is checked against the certificate on upload and kept for
// the load balancers that serve the certificate (KeyPair); IAM's API never
// returns it.
type serverCertRecord struct {
	Name     string    `json:"name"`
	ID       string    `json:"id"`
	Path     string    `json:"path"`
	Body     string    `json:"body"`
	Chain    string    `json:"chain,omitempty"`
	Key      string    `json:"key,omitempty"`
	Uploaded time.Time `json:"uploaded"`
	Expires  time.Time `json:"expires"`
	Tags     []tag     `json:"tags,omitempty"`
}

func (c serverCertRecord) entityName() string { return c.Name }

// parseCertificates reads every CERTIFICATE block of a PEM body; a body
// with none, or with a block that does not parse, is malformed.
func parseCertificates(body, what string) ([]*x509.Certificate, error) {
	rest := []byte(strings.TrimSpace(body))
	var out []*x509.Certificate
	for len(rest) > 0 {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, iamapi.NewMalformedCertificateException("The %s contains a PEM block of type %s, not CERTIFICATE.", what, blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, iamapi.NewMalformedCertificateException("Unable to parse the %s: %v", what, err)
		}
		out = append(out, c)
		rest = []byte(strings.TrimSpace(string(rest)))
	}
	if len(out) == 0 {
		return nil, iamapi.NewMalformedCertificateException("The %s is not a PEM-encoded X.509 certificate.", what)
	}
	return out, nil
}

// parsePrivateKey reads a PEM private key in PKCS #1, PKCS #8 or SEC 1
// form.
func parsePrivateKey(body string) (crypto.Signer, error) {
	blk, _ := pem.Decode([]byte(strings.TrimSpace(body)))
	if blk == nil {
		return nil, iamapi.NewMalformedCertificateException("The private key is not PEM-encoded.")
	}
	var k any
	var err error
	switch blk.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	default:
		return nil, iamapi.NewMalformedCertificateException("PEM block %s is not a private key.", blk.Type)
	}
	if err != nil {
		return nil, iamapi.NewMalformedCertificateException("Unable to parse the private key: %v", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, iamapi.NewMalformedCertificateException("Unsupported private key type.")
	}
	return s, nil
}

// samePublicKey reports whether the private key belongs to the
// certificate.
func samePublicKey(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(key.Public())
}

func (c signingCert) wire(user string) iamapi.SigningCertificate {
	st := iamapi.StatusType(c.Status)
	return iamapi.SigningCertificate{UserName: str(user), CertificateId: str(c.ID), CertificateBody: str(c.Body), Status: &st, UploadDate: awsapi.Time(c.Uploaded)}
}

func noSuchSigningCert(id string) error {
	return iamapi.NewNoSuchEntityException("The Certificate with id %s cannot be found.", id)
}

// UploadSigningCertificate adds an X.509 signing certificate to a user
// (the caller, without UserName).
func (s *Service) UploadSigningCertificate(ctx context.Context, in *iamapi.UploadSigningCertificateInput) (*iamapi.UploadSigningCertificateOutput, error) {
	certs, err := parseCertificates(*in.CertificateBody, "certificate body")
	if err != nil {
		// IAM's wording for signing certificates quotes the body.
		return nil, iamapi.NewMalformedCertificateException("Certificate %s is malformed.", *in.CertificateBody)
	}
	now := s.clock()
	if now.After(certs[0].NotAfter) {
		return nil, iamapi.NewInvalidCertificateException("The certificate expired on %s.", certs[0].NotAfter.UTC().Format(time.RFC3339))
	}
	name, err := callerUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, awsapi.Errorf("ValidationError", "Berth keeps signing certificates for IAM users only: give UserName.")
	}
	// The body is kept as given (Terraform compares it byte for byte).
	body := *in.CertificateBody
	c := signingCert{ID: newID("") + newID("")[:7], Body: body, Status: string(iamapi.StatusTypeActive), Uploaded: now}
	u, err := s.updateUser(ctx, name, func(u *userRecord, _ store.Tx) error {
		if slices.ContainsFunc(u.SigningCerts, func(o signingCert) bool { return strings.TrimSpace(o.Body) == strings.TrimSpace(body) }) {
			return iamapi.NewDuplicateCertificateException("The certificate is already uploaded for user %s.", u.Name)
		}
		if len(u.SigningCerts) >= maxSigningCertsPerUser {
			return iamapi.NewLimitExceededException("Cannot exceed quota for CertificatesPerUser: %d", maxSigningCertsPerUser)
		}
		u.SigningCerts = append(u.SigningCerts, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	w := c.wire(u.Name)
	return &iamapi.UploadSigningCertificateOutput{Certificate: &w}, nil
}

// signingCertUser is the user an operation names, or the calling user.
func (s *Service) signingCertUser(ctx context.Context, name *string) (string, error) {
	n, err := callerUser(ctx, name)
	if err == nil && n == "" {
		err = awsapi.Errorf("ValidationError", "Berth keeps signing certificates for IAM users only: give UserName.")
	}
	return n, err
}

// ListSigningCertificates lists a user's signing certificates.
func (s *Service) ListSigningCertificates(ctx context.Context, in *iamapi.ListSigningCertificatesInput) (*iamapi.ListSigningCertificatesOutput, error) {
	name, err := s.signingCertUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	u, err := s.viewUser(ctx, name)
	if err != nil {
		return nil, err
	}
	items, truncated, marker := page(u.SigningCerts, func(c signingCert) string { return c.ID }, in.Marker, in.MaxItems)
	out := &iamapi.ListSigningCertificatesOutput{Certificates: []iamapi.SigningCertificate{}, IsTruncated: truncated, Marker: marker}
	for _, c := range items {
		out.Certificates = append(out.Certificates, c.wire(u.Name))
	}
	return out, nil
}

// UpdateSigningCertificate activates or deactivates a signing certificate.
func (s *Service) UpdateSigningCertificate(ctx context.Context, in *iamapi.UpdateSigningCertificateInput) (*iamapi.UpdateSigningCertificateOutput, error) {
	name, err := s.signingCertUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	err = changeUserItem(ctx, s, name, signingCerts, isSigningCert(*in.CertificateId), noSuchSigningCert(*in.CertificateId), func(cs []signingCert, i int) []signingCert {
		cs[i].Status = string(*in.Status)
		return cs
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateSigningCertificateOutput{}, nil
}

func signingCerts(u *userRecord) *[]signingCert { return &u.SigningCerts }

func isSigningCert(id string) func(signingCert) bool {
	return func(c signingCert) bool { return c.ID == id }
}

// DeleteSigningCertificate removes a signing certificate from a user.
func (s *Service) DeleteSigningCertificate(ctx context.Context, in *iamapi.DeleteSigningCertificateInput) (*iamapi.DeleteSigningCertificateOutput, error) {
	name, err := s.signingCertUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	err = changeUserItem(ctx, s, name, signingCerts, isSigningCert(*in.CertificateId), noSuchSigningCert(*in.CertificateId), deleteItem)
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteSigningCertificateOutput{}, nil
}

func (c serverCertRecord) arn(acct string) string {
	return "arn:aws:iam::" + acct + ":server-certificate" + c.Path + c.Name
}

func (c serverCertRecord) metadata(acct string) *iamapi.ServerCertificateMetadata {
	return &iamapi.ServerCertificateMetadata{Path: str(c.Path), ServerCertificateName: str(c.Name), ServerCertificateId: str(c.ID),
		Arn: str(c.arn(acct)), UploadDate: awsapi.Time(c.Uploaded), Expiration: awsapi.Time(c.Expires)}
}

func noSuchServerCert(name string) error {
	return iamapi.NewNoSuchEntityException("The Server Certificate with name %s cannot be found.", name)
}

func getServerCert(tx store.Tx, acct, name string) (serverCertRecord, error) {
	return getNamed[serverCertRecord](tx, kindServerCert, acct, name, noSuchServerCert)
}

// UploadServerCertificate stores a server certificate with its chain,
// once the private key is found to be the certificate's; its expiration
// is the certificate's NotAfter.
func (s *Service) UploadServerCertificate(ctx context.Context, in *iamapi.UploadServerCertificateInput) (*iamapi.UploadServerCertificateOutput, error) {
	acct := account(ctx)
	certs, err := parseCertificates(*in.CertificateBody, "certificate body")
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, iamapi.NewMalformedCertificateException("The certificate body must hold one certificate; put the others in CertificateChain.")
	}
	key, err := parsePrivateKey(*in.PrivateKey)
	if err != nil {
		return nil, err
	}
	if !samePublicKey(certs[0], key) {
		return nil, iamapi.NewKeyPairMismatchException("The private key does not match the certificate's public key.")
	}
	if in.CertificateChain != nil && strings.TrimSpace(*in.CertificateChain) != "" {
		if _, err := parseCertificates(*in.CertificateChain, "certificate chain"); err != nil {
			return nil, err
		}
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	// IAM keeps server certificates without surrounding whitespace
	// (Terraform's provider expects that); signing certificates as given.
	c := serverCertRecord{Name: *in.ServerCertificateName, ID: newID("ASCA"), Path: "/", Body: strings.TrimSpace(*in.CertificateBody),
		Chain: strings.TrimSpace(deref(in.CertificateChain)), Key: strings.TrimSpace(*in.PrivateKey), Uploaded: s.clock(),
		Expires: certs[0].NotAfter.UTC(), Tags: tags}
	if in.Path != nil {
		c.Path = *in.Path
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		return create(tx, kindServerCert, acct, c.Name, c, c.Uploaded, func(existing serverCertRecord) error {
			return iamapi.NewEntityAlreadyExistsException("The Server Certificate with name %s already exists.", existing.Name)
		}, maxServerCertsPerAccount, iamapi.NewLimitExceededException("Cannot exceed quota for ServerCertificatesPerAccount: %d", maxServerCertsPerAccount))
	})
	if err != nil {
		return nil, err
	}
	out := &iamapi.UploadServerCertificateOutput{ServerCertificateMetadata: c.metadata(acct)}
	if len(c.Tags) > 0 {
		out.Tags = wireTags(c.Tags)
	}
	return out, nil
}

// GetServerCertificate returns a server certificate with its chain.
func (s *Service) GetServerCertificate(ctx context.Context, in *iamapi.GetServerCertificateInput) (*iamapi.GetServerCertificateOutput, error) {
	c, err := view(ctx, s, *in.ServerCertificateName, getServerCert)
	if err != nil {
		return nil, err
	}
	// IAM answers with Tags even when there are none.
	out := &iamapi.ServerCertificate{ServerCertificateMetadata: c.metadata(account(ctx)), CertificateBody: str(c.Body), CertificateChain: optional(c.Chain), Tags: []iamapi.Tag{}}
	if len(c.Tags) > 0 {
		out.Tags = wireTags(c.Tags)
	}
	return &iamapi.GetServerCertificateOutput{ServerCertificate: out}, nil
}

// ListServerCertificates lists the account's server certificates whose
// path starts with PathPrefix.
func (s *Service) ListServerCertificates(ctx context.Context, in *iamapi.ListServerCertificatesInput) (*iamapi.ListServerCertificatesOutput, error) {
	acct := account(ctx)
	certs, err := viewAll[serverCertRecord](ctx, s, kindServerCert, acct)
	if err != nil {
		return nil, err
	}
	prefix := deref(in.PathPrefix)
	certs = slices.DeleteFunc(certs, func(c serverCertRecord) bool { return !strings.HasPrefix(c.Path, prefix) })
	items, truncated, marker := page(certs, func(c serverCertRecord) string { return key(c.Name) }, in.Marker, in.MaxItems)
	out := &iamapi.ListServerCertificatesOutput{ServerCertificateMetadataList: []iamapi.ServerCertificateMetadata{}, IsTruncated: truncated, Marker: marker}
	for _, c := range items {
		out.ServerCertificateMetadataList = append(out.ServerCertificateMetadataList, *c.metadata(acct))
	}
	return out, nil
}

// UpdateServerCertificate renames a server certificate or changes its
// path.
func (s *Service) UpdateServerCertificate(ctx context.Context, in *iamapi.UpdateServerCertificateInput) (*iamapi.UpdateServerCertificateOutput, error) {
	acct := account(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := getServerCert(tx, acct, *in.ServerCertificateName)
		if err != nil {
			return err
		}
		if in.NewPath != nil {
			c.Path = *in.NewPath
		}
		if in.NewServerCertificateName != nil {
			err := rename(tx, kindServerCert, acct, c.Name, *in.NewServerCertificateName, func(other serverCertRecord) error {
				return iamapi.NewEntityAlreadyExistsException("The Server Certificate with name %s already exists.", other.Name)
			})
			if err != nil {
				return err
			}
			c.Name = *in.NewServerCertificateName
		}
		return put(tx, kindServerCert, acct, key(c.Name), c, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateServerCertificateOutput{}, nil
}

// DeleteServerCertificate deletes a server certificate.
func (s *Service) DeleteServerCertificate(ctx context.Context, in *iamapi.DeleteServerCertificateInput) (*iamapi.DeleteServerCertificateOutput, error) {
	err := remove(ctx, s, kindServerCert, *in.ServerCertificateName, getServerCert, func(serverCertRecord, store.Tx) error { return nil })
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteServerCertificateOutput{}, nil
}

func serverCertTags(c *serverCertRecord) *[]tag { return &c.Tags }

// TagServerCertificate adds tags to a server certificate.
func (s *Service) TagServerCertificate(ctx context.Context, in *iamapi.TagServerCertificateInput) (*iamapi.TagServerCertificateOutput, error) {
	if err := tagEntity(ctx, s, kindServerCert, *in.ServerCertificateName, getServerCert, serverCertTags, in.Tags); err != nil {
		return nil, err
	}
	return &iamapi.TagServerCertificateOutput{}, nil
}

// UntagServerCertificate removes tags from a server certificate.
func (s *Service) UntagServerCertificate(ctx context.Context, in *iamapi.UntagServerCertificateInput) (*iamapi.UntagServerCertificateOutput, error) {
	if err := untagEntity(ctx, s, kindServerCert, *in.ServerCertificateName, getServerCert, serverCertTags, in.TagKeys); err != nil {
		return nil, err
	}
	return &iamapi.UntagServerCertificateOutput{}, nil
}

// ListServerCertificateTags lists a server certificate's tags by key.
func (s *Service) ListServerCertificateTags(ctx context.Context, in *iamapi.ListServerCertificateTagsInput) (*iamapi.ListServerCertificateTagsOutput, error) {
	items, truncated, marker, err := entityTags(ctx, s, *in.ServerCertificateName, getServerCert, serverCertTags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListServerCertificateTagsOutput{Tags: items, IsTruncated: truncated, Marker: marker}, nil
}
