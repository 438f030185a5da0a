package iam

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// maxServiceCredsPerService is IAM's quota of service-specific
// credentials per user and service.
const maxServiceCredsPerService = 2

// serviceCredentialServices are the services IAM makes user name and
// password credentials for.
var serviceCredentialServices = map[string]bool{
	"codecommit.amazonaws.com": true,
	"cassandra.amazonaws.com":  true,
}

// serviceCred is a service-specific credential of a user, as the store
// keeps it: its password only hashed, since IAM shows it once and Berth
// serves neither CodeCommit nor Keyspaces to check it.
type serviceCred struct {
	ID       string    `json:"id"`
	Service  string    `json:"service"`
	UserName string    `json:"userName"` // the service user name
	Hash     string    `json:"hash"`
	Status   string    `json:"status"`
	Created  time.Time `json:"created"`
}

func (c serviceCred) metadata(user string) iamapi.ServiceSpecificCredentialMetadata {
	st := iamapi.StatusType(c.Status)
	return iamapi.ServiceSpecificCredentialMetadata{UserName: str(user), Status: &st, ServiceUserName: str(c.UserName),
		CreateDate: awsapi.Time(c.Created), ServiceSpecificCredentialId: str(c.ID), ServiceName: str(c.Service)}
}

func (c serviceCred) wire(user, password string) *iamapi.ServiceSpecificCredential {
	st := iamapi.StatusType(c.Status)
	return &iamapi.ServiceSpecificCredential{CreateDate: awsapi.Time(c.Created), ServiceName: str(c.Service), ServiceUserName: str(c.UserName),
		ServicePassword: str(password), ServiceSpecificCredentialId: str(c.ID), UserName: str(user), Status: &st}
}

// newServicePassword is a random password and its hash.
func newServicePassword() (string, string, error) {
	b := make([]byte, 33)
	rand.Read(b)
	pw := base64.StdEncoding.EncodeToString(b) // 44 characters, as IAM's
	h, err := hashPassword(pw)
	return pw, h, err
}

func noSuchServiceCred(id string) error {
	return iamapi.NewNoSuchEntityException("No such credential %s exists", id)
}

// CreateServiceSpecificCredential makes a user name and password for a
// user to sign in to CodeCommit or Amazon Keyspaces with.
func (s *Service) CreateServiceSpecificCredential(ctx context.Context, in *iamapi.CreateServiceSpecificCredentialInput) (*iamapi.CreateServiceSpecificCredentialOutput, error) {
	service := *in.ServiceName
	if !serviceCredentialServices[service] {
		return nil, iamapi.NewServiceNotSupportedException("Service %s is not supported for service-specific credentials.", service)
	}
	pw, hash, err := newServicePassword()
	if err != nil {
		return nil, err
	}
	var c serviceCred
	u, err := s.updateUser(ctx, *in.UserName, func(u *userRecord, _ store.Tx) error {
		n := 0
		for _, o := range u.ServiceCreds {
			if o.Service == service {
				n++
			}
		}
		if n >= maxServiceCredsPerService {
			return iamapi.NewLimitExceededException("Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: %d", maxServiceCredsPerService)
		}
		c = serviceCred{ID: newID("ACCA"), Service: service, UserName: u.Name + "-at-" + account(ctx), Hash: hash,
			Status: string(iamapi.StatusTypeActive), Created: s.clock()}
		u.ServiceCreds = append(u.ServiceCreds, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateServiceSpecificCredentialOutput{ServiceSpecificCredential: c.wire(u.Name, pw)}, nil
}

// ListServiceSpecificCredentials lists a user's (the caller's) service
// credentials, of one service when ServiceName is given.
func (s *Service) ListServiceSpecificCredentials(ctx context.Context, in *iamapi.ListServiceSpecificCredentialsInput) (*iamapi.ListServiceSpecificCredentialsOutput, error) {
	name, err := callerUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	var creds []iamapi.ServiceSpecificCredentialMetadata
	add := func(u userRecord) {
		for _, c := range u.ServiceCreds {
			if in.ServiceName == nil || *in.ServiceName == c.Service {
				creds = append(creds, c.metadata(u.Name))
			}
		}
	}
	switch {
	case in.AllUsers != nil && *in.AllUsers:
		users, err := viewAll[userRecord](ctx, s, kindUser, account(ctx))
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			add(u)
		}
	case name != "":
		u, err := s.viewUser(ctx, name)
		if err != nil {
			return nil, err
		}
		add(u)
	}
	items, truncated, marker := page(creds, func(c iamapi.ServiceSpecificCredentialMetadata) string { return *c.ServiceSpecificCredentialId }, in.Marker, in.MaxItems)
	if items == nil {
		items = []iamapi.ServiceSpecificCredentialMetadata{}
	}
	return &iamapi.ListServiceSpecificCredentialsOutput{ServiceSpecificCredentials: items, IsTruncated: truncated, Marker: marker}, nil
}

// changeServiceCred runs fn on a user's (the caller's) credential.
func (s *Service) changeServiceCred(ctx context.Context, user *string, id string, fn func(u *userRecord, i int) error) (userRecord, error) {
	name, err := callerUser(ctx, user)
	if err != nil {
		return userRecord{}, err
	}
	if name == "" {
		return userRecord{}, noSuchServiceCred(id)
	}
	return s.updateUser(ctx, name, func(u *userRecord, _ store.Tx) error {
		i := slices.IndexFunc(u.ServiceCreds, func(c serviceCred) bool { return c.ID == id })
		if i < 0 {
			return noSuchServiceCred(id)
		}
		return fn(u, i)
	})
}

// ResetServiceSpecificCredential gives a credential a new password.
func (s *Service) ResetServiceSpecificCredential(ctx context.Context, in *iamapi.ResetServiceSpecificCredentialInput) (*iamapi.ResetServiceSpecificCredentialOutput, error) {
	pw, hash, err := newServicePassword()
	if err != nil {
		return nil, err
	}
	var c serviceCred
	u, err := s.changeServiceCred(ctx, in.UserName, *in.ServiceSpecificCredentialId, func(u *userRecord, i int) error {
		u.ServiceCreds[i].Hash = hash
		c = u.ServiceCreds[i]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.ResetServiceSpecificCredentialOutput{ServiceSpecificCredential: c.wire(u.Name, pw)}, nil
}

// UpdateServiceSpecificCredential activates or deactivates a credential.
func (s *Service) UpdateServiceSpecificCredential(ctx context.Context, in *iamapi.UpdateServiceSpecificCredentialInput) (*iamapi.UpdateServiceSpecificCredentialOutput, error) {
	_, err := s.changeServiceCred(ctx, in.UserName, *in.ServiceSpecificCredentialId, func(u *userRecord, i int) error {
		u.ServiceCreds[i].Status = string(*in.Status)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateServiceSpecificCredentialOutput{}, nil
}

// DeleteServiceSpecificCredential deletes a credential.
func (s *Service) DeleteServiceSpecificCredential(ctx context.Context, in *iamapi.DeleteServiceSpecificCredentialInput) (*iamapi.DeleteServiceSpecificCredentialOutput, error) {
	_, err := s.changeServiceCred(ctx, in.UserName, *in.ServiceSpecificCredentialId, func(u *userRecord, i int) error {
		u.ServiceCreds = slices.Delete(u.ServiceCreds, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteServiceSpecificCredentialOutput{}, nil
}
