package iam

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// kindMFADevice holds the account's virtual MFA devices by the key of
// their path and name. Which user a device is enabled for is kept in the
// user's record (MFA), so that it follows renames.
const kindMFADevice = "iam.mfaDevice"

// TOTP as virtual MFA devices compute it (RFC 6238): HMAC-SHA1, 30 s
// steps, 6 digits.
const (
	totpStep   = 30
	totpDigits = 6
	// totpLookBack is how many steps old a pair of codes may be: the
	// person typing them needs a minute or two, as with IAM.
	totpLookBack = 10
	// mfaSeedBytes makes the 64-character base32 seeds IAM hands out.
	mfaSeedBytes     = 40
	maxMFAPerUser    = 8
	maxMFAPerAccount = 5000
)

// mfaDevice is a virtual MFA device as the store keeps it. The seed is
// kept in clear: checking codes needs it, as it does in IAM.
type mfaDevice struct {
	Name     string    `json:"name"`
	Path     string    `json:"path"`
	Seed     string    `json:"seed"` // base32
	Created  time.Time `json:"created"`
	Assigned bool      `json:"assigned,omitempty"`
	Enabled  time.Time `json:"enabled,omitzero"`
	LastStep int64     `json:"lastStep,omitempty"` // last TOTP step accepted, against replays
	Tags     []tag     `json:"tags,omitempty"`
}

func (d mfaDevice) serial(acct string) string {
	return "arn:aws:iam::" + acct + ":mfa" + d.Path + d.Name
}

func mfaKey(path, name string) string { return key(path + name) }

// parseMFASerial splits a virtual device's serial number,
// arn:aws:iam::<account>:mfa/<path><name>, into its store key.
func parseMFASerial(serial string) (acct, storeKey string, ok bool) {
	rest, ok := strings.CutPrefix(serial, "arn:aws:iam::")
	if !ok {
		return "", "", false
	}
	acct, rest, ok = strings.Cut(rest, ":mfa/")
	if !ok || !isAccount(acct) || rest == "" {
		return "", "", false
	}
	i := strings.LastIndex(rest, "/")
	return acct, mfaKey("/"+rest[:i+1], rest[i+1:]), true
}

func noSuchMFA(serial string) error {
	return iamapi.NewNoSuchEntityException("MFA Device with serial number %s does not exist.", serial)
}

func getMFA(tx store.Tx, acct, serial string) (mfaDevice, error) {
	a, k, ok := parseMFASerial(serial)
	if !ok || a != acct {
		return mfaDevice{}, noSuchMFA(serial)
	}
	var d mfaDevice
	found, err := get(tx, kindMFADevice, acct, k, &d)
	if err == nil && !found {
		err = noSuchMFA(serial)
	}
	return d, err
}

func putMFA(tx store.Tx, acct string, d mfaDevice, at time.Time) error {
	return put(tx, kindMFADevice, acct, mfaKey(d.Path, d.Name), d, at)
}

// totp is the code of a base32 seed at a time step.
func totp(seed string, step int64) (string, error) {
	k, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(strings.ToUpper(seed), "="))
	if err != nil {
		return "", err
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, k)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%0*d", totpDigits, v%1_000_000), nil
}

// checkCodes finds the step of code1 such that code2 is the next step's
// code, among the last totpLookBack steps (and the next, for a clock a
// little ahead) and after the last pair the
// device accepted; it returns the step of code2.
func checkCodes(d mfaDevice, now time.Time, code1, code2 string) (int64, error) {
	cur := now.Unix() / totpStep
	for s := cur - totpLookBack; s <= cur+1; s++ {
		if s <= d.LastStep {
			continue
		}
		c1, err := totp(d.Seed, s)
		if err != nil {
			return 0, err
		}
		if !hmac.Equal([]byte(c1), []byte(code1)) {
			continue
		}
		c2, _ := totp(d.Seed, s+1)
		if hmac.Equal([]byte(c2), []byte(code2)) {
			return s + 1, nil
		}
	}
	return 0, iamapi.NewInvalidAuthenticationCodeException("Authentication code for device is not valid.")
}

// mfaOwners maps the serial numbers of enabled devices to their users.
func mfaOwners(tx store.Tx, acct string) (map[string]userRecord, error) {
	users, err := all[userRecord](tx, kindUser, acct)
	if err != nil {
		return nil, err
	}
	out := map[string]userRecord{}
	for _, u := range users {
		for _, sn := range u.MFA {
			out[sn] = u
		}
	}
	return out, nil
}

// CreateVirtualMFADevice creates a virtual MFA device with a random seed,
// returned base32-encoded this once. Berth leaves out QRCodePNG: it has
// no QR encoder; the seed is all an authenticator app needs.
func (s *Service) CreateVirtualMFADevice(ctx context.Context, in *iamapi.CreateVirtualMFADeviceInput) (*iamapi.CreateVirtualMFADeviceOutput, error) {
	acct := account(ctx)
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, mfaSeedBytes)
	rand.Read(raw)
	d := mfaDevice{Name: *in.VirtualMFADeviceName, Path: "/", Seed: base32.StdEncoding.EncodeToString(raw), Created: s.clock(), Tags: tags}
	if in.Path != nil {
		d.Path = *in.Path
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		var existing mfaDevice
		found, err := get(tx, kindMFADevice, acct, mfaKey(d.Path, d.Name), &existing)
		if err != nil {
			return err
		}
		if found {
			return iamapi.NewEntityAlreadyExistsException("MFA device already exists.")
		}
		n, err := tx.ListResources(kindMFADevice, acct, global, "", store.Page{})
		if err != nil {
			return err
		}
		if len(n) >= maxMFAPerAccount {
			return iamapi.NewLimitExceededException("Cannot exceed quota for VirtualMFADevicesPerAccount: %d", maxMFAPerAccount)
		}
		return putMFA(tx, acct, d, d.Created)
	})
	if err != nil {
		return nil, err
	}
	out := &iamapi.VirtualMFADevice{SerialNumber: str(d.serial(acct)), Base32StringSeed: []byte(d.Seed)}
	if len(d.Tags) > 0 {
		out.Tags = wireTags(d.Tags)
	}
	return &iamapi.CreateVirtualMFADeviceOutput{VirtualMFADevice: out}, nil
}

// EnableMFADevice enables a virtual MFA device for a user once the two
// codes given are two consecutive codes of the device.
func (s *Service) EnableMFADevice(ctx context.Context, in *iamapi.EnableMFADeviceInput) (*iamapi.EnableMFADeviceOutput, error) {
	acct := account(ctx)
	now := s.clock()
	err := s.st.Update(ctx, func(tx store.Tx) error {
		u, err := getUser(tx, acct, *in.UserName)
		if err != nil {
			return err
		}
		d, err := getMFA(tx, acct, *in.SerialNumber)
		if err != nil {
			return err
		}
		if d.Assigned {
			return iamapi.NewEntityAlreadyExistsException("MFA Device is already in use.")
		}
		if len(u.MFA) >= maxMFAPerUser {
			return iamapi.NewLimitExceededException("Cannot exceed quota for MFADevicesPerUser: %d", maxMFAPerUser)
		}
		step, err := checkCodes(d, s.now(), *in.AuthenticationCode1, *in.AuthenticationCode2)
		if err != nil {
			return err
		}
		d.Assigned, d.Enabled, d.LastStep = true, now, step
		u.MFA = append(u.MFA, d.serial(acct))
		if err := putMFA(tx, acct, d, now); err != nil {
			return err
		}
		return put(tx, kindUser, acct, key(u.Name), u, now)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.EnableMFADeviceOutput{}, nil
}

// ResyncMFADevice checks two consecutive codes of a user's enabled
// device; Berth's clock and the codes' agree or the call fails.
func (s *Service) ResyncMFADevice(ctx context.Context, in *iamapi.ResyncMFADeviceInput) (*iamapi.ResyncMFADeviceOutput, error) {
	acct := account(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		u, err := getUser(tx, acct, *in.UserName)
		if err != nil {
			return err
		}
		if !slices.Contains(u.MFA, *in.SerialNumber) {
			return noSuchMFA(*in.SerialNumber)
		}
		d, err := getMFA(tx, acct, *in.SerialNumber)
		if err != nil {
			return err
		}
		step, err := checkCodes(d, s.now(), *in.AuthenticationCode1, *in.AuthenticationCode2)
		if err != nil {
			return err
		}
		d.LastStep = step
		return putMFA(tx, acct, d, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.ResyncMFADeviceOutput{}, nil
}

// DeactivateMFADevice disables a device for the user it is enabled for;
// a virtual device can then be enabled again or deleted.
func (s *Service) DeactivateMFADevice(ctx context.Context, in *iamapi.DeactivateMFADeviceInput) (*iamapi.DeactivateMFADeviceOutput, error) {
	acct := account(ctx)
	name, err := callerUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, awsapi.Errorf("ValidationError", "Berth keeps MFA devices for IAM users only: give UserName.")
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		u, err := getUser(tx, acct, name)
		if err != nil {
			return err
		}
		d, err := getMFA(tx, acct, *in.SerialNumber)
		if err != nil {
			return err
		}
		i := slices.Index(u.MFA, *in.SerialNumber)
		if i < 0 {
			return iamapi.NewNoSuchEntityException("MFA Device with serial number %s is not enabled for user %s.", *in.SerialNumber, u.Name)
		}
		u.MFA = slices.Delete(u.MFA, i, i+1)
		d.Assigned, d.Enabled = false, time.Time{}
		if err := putMFA(tx, acct, d, s.clock()); err != nil {
			return err
		}
		return put(tx, kindUser, acct, key(u.Name), u, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeactivateMFADeviceOutput{}, nil
}

// DeleteVirtualMFADevice deletes a virtual device no user has enabled.
func (s *Service) DeleteVirtualMFADevice(ctx context.Context, in *iamapi.DeleteVirtualMFADeviceInput) (*iamapi.DeleteVirtualMFADeviceOutput, error) {
	acct := account(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getMFA(tx, acct, *in.SerialNumber)
		if err != nil {
			return err
		}
		if d.Assigned {
			return iamapi.NewDeleteConflictException("MFA VirtualDevice in use. Must deactivate first.")
		}
		return tx.DeleteResource(kindMFADevice, acct, global, mfaKey(d.Path, d.Name))
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteVirtualMFADeviceOutput{}, nil
}

// GetMFADevice returns an enabled device of a user.
func (s *Service) GetMFADevice(ctx context.Context, in *iamapi.GetMFADeviceInput) (*iamapi.GetMFADeviceOutput, error) {
	acct := account(ctx)
	name, err := callerUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	var out *iamapi.GetMFADeviceOutput
	err = s.st.View(ctx, func(tx store.Tx) error {
		d, err := getMFA(tx, acct, *in.SerialNumber)
		if err != nil {
			return err
		}
		owners, err := mfaOwners(tx, acct)
		if err != nil {
			return err
		}
		u, ok := owners[*in.SerialNumber]
		if !ok || (name != "" && key(u.Name) != key(name)) {
			return iamapi.NewNoSuchEntityException("MFA Device with serial number %s is not enabled for user %s.", *in.SerialNumber, name)
		}
		out = &iamapi.GetMFADeviceOutput{UserName: str(u.Name), SerialNumber: str(d.serial(acct)), EnableDate: awsapi.Time(d.Enabled)}
		return nil
	})
	return out, err
}

// ListMFADevices lists the devices enabled for a user (the caller without
// UserName).
func (s *Service) ListMFADevices(ctx context.Context, in *iamapi.ListMFADevicesInput) (*iamapi.ListMFADevicesOutput, error) {
	acct := account(ctx)
	name, err := callerUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	var devices []iamapi.MFADevice
	err = s.st.View(ctx, func(tx store.Tx) error {
		if name == "" {
			return nil
		}
		u, err := getUser(tx, acct, name)
		if err != nil {
			return err
		}
		for _, sn := range u.MFA {
			d, err := getMFA(tx, acct, sn)
			if err != nil {
				return err
			}
			devices = append(devices, iamapi.MFADevice{UserName: str(u.Name), SerialNumber: str(sn), EnableDate: awsapi.Time(d.Enabled)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	items, truncated, marker := page(devices, func(d iamapi.MFADevice) string { return *d.SerialNumber }, in.Marker, in.MaxItems)
	if items == nil {
		items = []iamapi.MFADevice{}
	}
	return &iamapi.ListMFADevicesOutput{MFADevices: items, IsTruncated: truncated, Marker: marker}, nil
}

// ListVirtualMFADevices lists the account's virtual devices, with the
// user each is enabled for, by assignment status.
func (s *Service) ListVirtualMFADevices(ctx context.Context, in *iamapi.ListVirtualMFADevicesInput) (*iamapi.ListVirtualMFADevicesOutput, error) {
	acct := account(ctx)
	want := iamapi.AssignmentStatusTypeAny
	if in.AssignmentStatus != nil {
		want = *in.AssignmentStatus
	}
	// Markers Berth hands out are device serial numbers; anything else is
	// not one IAM would have given.
	if m := deref(in.Marker); m != "" {
		if _, _, ok := parseMFASerial(m); !ok {
			return nil, awsapi.Errorf("ValidationError", "Invalid Marker.")
		}
	}
	var out []iamapi.VirtualMFADevice
	err := s.st.View(ctx, func(tx store.Tx) error {
		devices, err := all[mfaDevice](tx, kindMFADevice, acct)
		if err != nil {
			return err
		}
		owners, err := mfaOwners(tx, acct)
		if err != nil {
			return err
		}
		for _, d := range devices {
			if (want == iamapi.AssignmentStatusTypeAssigned && !d.Assigned) || (want == iamapi.AssignmentStatusTypeUnassigned && d.Assigned) {
				continue
			}
			v := iamapi.VirtualMFADevice{SerialNumber: str(d.serial(acct))}
			if u, ok := owners[d.serial(acct)]; ok && d.Assigned {
				v.User = u.wire(acct, true)
				v.EnableDate = awsapi.Time(d.Enabled)
			}
			if len(d.Tags) > 0 {
				v.Tags = wireTags(d.Tags)
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b iamapi.VirtualMFADevice) int { return strings.Compare(*a.SerialNumber, *b.SerialNumber) })
	items, truncated, marker := page(out, func(d iamapi.VirtualMFADevice) string { return *d.SerialNumber }, in.Marker, in.MaxItems)
	if items == nil {
		items = []iamapi.VirtualMFADevice{}
	}
	return &iamapi.ListVirtualMFADevicesOutput{VirtualMFADevices: items, IsTruncated: truncated, Marker: marker}, nil
}

// updateMFA runs fn on a stored device in one transaction.
func (s *Service) updateMFA(ctx context.Context, serial string, fn func(*mfaDevice) error) error {
	acct := account(ctx)
	return s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getMFA(tx, acct, serial)
		if err != nil {
			return err
		}
		if err := fn(&d); err != nil {
			return err
		}
		return putMFA(tx, acct, d, s.clock())
	})
}

// TagMFADevice adds tags to a virtual MFA device.
func (s *Service) TagMFADevice(ctx context.Context, in *iamapi.TagMFADeviceInput) (*iamapi.TagMFADeviceOutput, error) {
	if err := s.updateMFA(ctx, *in.SerialNumber, func(d *mfaDevice) error { return addTags(&d.Tags, in.Tags) }); err != nil {
		return nil, err
	}
	return &iamapi.TagMFADeviceOutput{}, nil
}

// UntagMFADevice removes tags from a virtual MFA device.
func (s *Service) UntagMFADevice(ctx context.Context, in *iamapi.UntagMFADeviceInput) (*iamapi.UntagMFADeviceOutput, error) {
	err := s.updateMFA(ctx, *in.SerialNumber, func(d *mfaDevice) error {
		d.Tags = removeTags(d.Tags, in.TagKeys)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UntagMFADeviceOutput{}, nil
}

// ListMFADeviceTags lists a virtual MFA device's tags by key.
func (s *Service) ListMFADeviceTags(ctx context.Context, in *iamapi.ListMFADeviceTagsInput) (*iamapi.ListMFADeviceTagsOutput, error) {
	d, err := view(ctx, s, *in.SerialNumber, getMFA)
	if err != nil {
		return nil, err
	}
	items, truncated, marker := pageTags(d.Tags, in.Marker, in.MaxItems)
	return &iamapi.ListMFADeviceTagsOutput{Tags: items, IsTruncated: truncated, Marker: marker}, nil
}

// ErrMFAFailed is returned by CheckMFACode for a device the user has not
// enabled or a code that is not the device's.
var ErrMFAFailed = errors.New("iam: MFA authentication failed")

// CheckMFACode checks a one-time code of an MFA device that the IAM user
// principal (an ARN, as awsapi.Identity.Principal names it) has enabled,
// as STS does for GetSessionToken and AssumeRole with SerialNumber and
// TokenCode. A code is good for the current 30-second step and the steps
// either side, once.
func (s *Service) CheckMFACode(ctx context.Context, acct, principal, serial, code string) error {
	_, rest, ok := strings.Cut(principal, ":user/")
	if !ok || !strings.HasPrefix(principal, "arn:aws:iam::") {
		return ErrMFAFailed // only IAM users have devices in Berth
	}
	name := rest[strings.LastIndex(rest, "/")+1:]
	return s.st.Update(ctx, func(tx store.Tx) error {
		u, err := getUser(tx, acct, name)
		if err != nil || !slices.Contains(u.MFA, serial) {
			return ErrMFAFailed
		}
		d, err := getMFA(tx, acct, serial)
		if err != nil {
			return ErrMFAFailed
		}
		cur := s.now().Unix() / totpStep
		for step := cur - 1; step <= cur+1; step++ {
			if step <= d.LastStep {
				continue
			}
			c, err := totp(d.Seed, step)
			if err == nil && hmac.Equal([]byte(c), []byte(code)) {
				d.LastStep = step
				return putMFA(tx, acct, d, s.clock())
			}
		}
		return ErrMFAFailed
	})
}
