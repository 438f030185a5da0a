package iam

import (
	"context"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Limits of SSH public keys, as IAM's.
const (
	maxSSHKeysPerUser = 5
	minSSHKeyBits     = 2048
)

// sshKey is an SSH public key of a user, as the store keeps it (in the
// user's record).
type sshKey struct {
	ID          string    `json:"id"`
	Body        string    `json:"body"` // ssh-rsa AAAA... as uploaded, trimmed
	PEM         string    `json:"pem"`  // the same key as a PEM PUBLIC KEY
	Fingerprint string    `json:"fingerprint"`
	Status      string    `json:"status"`
	Uploaded    time.Time `json:"uploaded"`
}

// sshString reads one length-prefixed string of the SSH wire format.
func sshString(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

func sshPutString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// sshMPInt is an mpint of the SSH wire format for a positive integer.
func sshMPInt(n *big.Int) []byte {
	b := n.Bytes()
	if len(b) > 0 && b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return b
}

// parseSSHPublicKey reads a key in either form IAM takes (OpenSSH's
// "ssh-rsa AAAA... comment" or a PEM PUBLIC KEY), returning the key, its
// OpenSSH wire blob and its OpenSSH line.
func parseSSHPublicKey(body string) (*rsa.PublicKey, []byte, error) {
	body = strings.TrimSpace(body)
	if strings.HasPrefix(body, "-----BEGIN") {
		blk, _ := pem.Decode([]byte(body))
		if blk == nil {
			return nil, nil, iamapi.NewInvalidPublicKeyException("The PEM public key could not be decoded.")
		}
		var pub any
		var err error
		switch blk.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(blk.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(blk.Bytes)
		default:
			return nil, nil, iamapi.NewUnrecognizedPublicKeyEncodingException("PEM block %q is not a public key.", blk.Type)
		}
		if err != nil {
			return nil, nil, iamapi.NewInvalidPublicKeyException("The public key is malformed: %v", err)
		}
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, nil, iamapi.NewUnrecognizedPublicKeyEncodingException("Only RSA public keys are supported.")
		}
		var blob []byte
		blob = sshPutString(blob, []byte("ssh-rsa"))
		blob = sshPutString(blob, sshMPInt(big.NewInt(int64(k.E))))
		blob = sshPutString(blob, sshMPInt(k.N))
		return k, blob, nil
	}
	fields := strings.Fields(body)
	if len(fields) < 2 {
		return nil, nil, iamapi.NewUnrecognizedPublicKeyEncodingException("The public key must be in ssh-rsa format (ssh-rsa AAAA...) or PEM format.")
	}
	if fields[0] != "ssh-rsa" {
		return nil, nil, iamapi.NewUnrecognizedPublicKeyEncodingException("Public keys of type %s are not supported: IAM takes ssh-rsa keys.", fields[0])
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return nil, nil, iamapi.NewInvalidPublicKeyException("The public key is not valid base64.")
	}
	typ, rest, ok := sshString(blob)
	if !ok || string(typ) != "ssh-rsa" {
		return nil, nil, iamapi.NewInvalidPublicKeyException("The public key's encoded type does not say ssh-rsa.")
	}
	e, rest, ok1 := sshString(rest)
	n, rest, ok2 := sshString(rest)
	if !ok1 || !ok2 || len(rest) != 0 || len(e) == 0 || len(e) > 4 || len(n) == 0 {
		return nil, nil, iamapi.NewInvalidPublicKeyException("The ssh-rsa public key is malformed.")
	}
	k := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	return k, blob, nil
}

// md5Fingerprint is a key's fingerprint as IAM shows it (and ssh-keygen
// -l -E md5): the MD5 of the wire blob, in colon-separated hex.
func md5Fingerprint(blob []byte) string {
	sum := md5.Sum(blob)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(parts, ":")
}

func noSuchSSHKey(id string) error {
	return iamapi.NewNoSuchEntityException("The Public Key with id %s cannot be found.", id)
}

func (k sshKey) wire(user string, encoding iamapi.EncodingType) *iamapi.SSHPublicKey {
	st := iamapi.StatusType(k.Status)
	body := k.Body
	if encoding == iamapi.EncodingTypePem {
		body = k.PEM
	}
	return &iamapi.SSHPublicKey{UserName: str(user), SSHPublicKeyId: str(k.ID), Fingerprint: str(k.Fingerprint),
		SSHPublicKeyBody: str(body), Status: &st, UploadDate: awsapi.Time(k.Uploaded)}
}

// UploadSSHPublicKey adds an SSH public key (RSA, at least 2048 bits) to
// a user.
func (s *Service) UploadSSHPublicKey(ctx context.Context, in *iamapi.UploadSSHPublicKeyInput) (*iamapi.UploadSSHPublicKeyOutput, error) {
	pub, blob, err := parseSSHPublicKey(*in.SSHPublicKeyBody)
	if err != nil {
		return nil, err
	}
	if pub.N.BitLen() < minSSHKeyBits {
		return nil, iamapi.NewInvalidPublicKeyException("The public key is %d bits long; IAM requires at least %d.", pub.N.BitLen(), minSSHKeyBits)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, iamapi.NewInvalidPublicKeyException("The public key is malformed: %v", err)
	}
	k := sshKey{
		ID:          newID("APKA"),
		Body:        "ssh-rsa " + base64.StdEncoding.EncodeToString(blob),
		PEM:         string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		Fingerprint: md5Fingerprint(blob),
		Status:      string(iamapi.StatusTypeActive),
		Uploaded:    s.clock(),
	}
	u, err := s.updateUser(ctx, *in.UserName, func(u *userRecord, _ store.Tx) error {
		if slices.ContainsFunc(u.SSHKeys, func(o sshKey) bool { return o.Fingerprint == k.Fingerprint }) {
			return iamapi.NewDuplicateSSHPublicKeyException("The public key with fingerprint %s is already associated with user %s.", k.Fingerprint, u.Name)
		}
		if len(u.SSHKeys) >= maxSSHKeysPerUser {
			return iamapi.NewLimitExceededException("Cannot exceed quota for PublicKeysPerUser: %d", maxSSHKeysPerUser)
		}
		u.SSHKeys = append(u.SSHKeys, k)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UploadSSHPublicKeyOutput{SSHPublicKey: k.wire(u.Name, iamapi.EncodingTypeSsh)}, nil
}

// GetSSHPublicKey returns a user's SSH public key in the encoding asked.
func (s *Service) GetSSHPublicKey(ctx context.Context, in *iamapi.GetSSHPublicKeyInput) (*iamapi.GetSSHPublicKeyOutput, error) {
	u, err := s.viewUser(ctx, *in.UserName)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(u.SSHKeys, func(k sshKey) bool { return k.ID == *in.SSHPublicKeyId })
	if i < 0 {
		return nil, noSuchSSHKey(*in.SSHPublicKeyId)
	}
	return &iamapi.GetSSHPublicKeyOutput{SSHPublicKey: u.SSHKeys[i].wire(u.Name, *in.Encoding)}, nil
}

// ListSSHPublicKeys lists a user's SSH public keys (the caller's without
// UserName).
func (s *Service) ListSSHPublicKeys(ctx context.Context, in *iamapi.ListSSHPublicKeysInput) (*iamapi.ListSSHPublicKeysOutput, error) {
	name, err := callerUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	var keys []sshKey
	if name != "" {
		u, err := s.viewUser(ctx, name)
		if err != nil {
			return nil, err
		}
		keys = u.SSHKeys
	}
	items, truncated, marker := page(keys, func(k sshKey) string { return k.ID }, in.Marker, in.MaxItems)
	out := &iamapi.ListSSHPublicKeysOutput{SSHPublicKeys: []iamapi.SSHPublicKeyMetadata{}, IsTruncated: truncated, Marker: marker}
	for _, k := range items {
		st := iamapi.StatusType(k.Status)
		out.SSHPublicKeys = append(out.SSHPublicKeys, iamapi.SSHPublicKeyMetadata{UserName: str(name), SSHPublicKeyId: str(k.ID), Status: &st, UploadDate: awsapi.Time(k.Uploaded)})
	}
	return out, nil
}

// UpdateSSHPublicKey activates or deactivates a user's SSH public key.
func (s *Service) UpdateSSHPublicKey(ctx context.Context, in *iamapi.UpdateSSHPublicKeyInput) (*iamapi.UpdateSSHPublicKeyOutput, error) {
	err := changeUserItem(ctx, s, *in.UserName, sshKeys, isSSHKey(*in.SSHPublicKeyId), noSuchSSHKey(*in.SSHPublicKeyId), func(ks []sshKey, i int) []sshKey {
		ks[i].Status = string(*in.Status)
		return ks
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateSSHPublicKeyOutput{}, nil
}

func sshKeys(u *userRecord) *[]sshKey { return &u.SSHKeys }

func isSSHKey(id string) func(sshKey) bool {
	return func(k sshKey) bool { return k.ID == id }
}

// DeleteSSHPublicKey removes an SSH public key from a user.
func (s *Service) DeleteSSHPublicKey(ctx context.Context, in *iamapi.DeleteSSHPublicKeyInput) (*iamapi.DeleteSSHPublicKeyOutput, error) {
	err := changeUserItem(ctx, s, *in.UserName, sshKeys, isSSHKey(*in.SSHPublicKeyId), noSuchSSHKey(*in.SSHPublicKeyId), deleteItem)
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteSSHPublicKeyOutput{}, nil
}
