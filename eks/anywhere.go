package eks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// EKS Anywhere subscriptions are records: Berth sells no licenses and runs
// no EKS Anywhere clusters. They are kept per account and region by id.
const kindAnywhere = "eks.anywheresubscription"

// EKS Anywhere's rules: 12- or 36-month terms, subscriptions cancellable
// within 7 days of creation (or once expired), EXPIRING in the last 30
// days of a term that does not renew.
const (
	anywhereCancelWindow = 7 * 24 * time.Hour
	anywhereExpiringDays = 30
	maxAnywhereLicenses  = 100
)

type anywhereRec struct {
	Sub eksapi.EksAnywhereSubscription `json:"subscription"`
	// Token is the clientRequestToken of the create.
	Token string `json:"token,omitempty"`
}

// settle is the subscription as it stands at now: the activation and
// updates complete at once (the status the write returned was CREATING or
// UPDATING), and the term runs out on its expiration date.
func settle(sub eksapi.EksAnywhereSubscription, now time.Time) eksapi.EksAnywhereSubscription {
	exp := sub.ExpirationDate.Time
	switch {
	case !now.Before(exp):
		sub.Status = new(string(eksapi.EksAnywhereSubscriptionStatusExpired))
	case !deref(sub.AutoRenew) && exp.Sub(now) <= anywhereExpiringDays*24*time.Hour:
		sub.Status = new(string(eksapi.EksAnywhereSubscriptionStatusExpiring))
	default:
		sub.Status = new(string(eksapi.EksAnywhereSubscriptionStatusActive))
	}
	return sub
}

// CreateEksAnywhereSubscription records a subscription CREATING.
func (s *Service) CreateEksAnywhereSubscription(ctx context.Context, in *eksapi.CreateEksAnywhereSubscriptionInput) (*eksapi.CreateEksAnywhereSubscriptionOutput, error) {
	account, region := where(ctx)
	t := in.Term
	if deref(t.Unit) != eksapi.EksAnywhereSubscriptionTermUnitMonths || (deref(t.Duration) != 12 && deref(t.Duration) != 36) {
		return nil, eksapi.NewInvalidParameterException("term must be 12 or 36 MONTHS.")
	}
	qty := int32(1)
	if in.LicenseQuantity != nil {
		qty = *in.LicenseQuantity
	}
	if qty < 1 || qty > maxAnywhereLicenses {
		return nil, eksapi.NewInvalidParameterException("licenseQuantity must be between 1 and %d.", maxAnywhereLicenses)
	}
	lt := eksapi.EksAnywhereSubscriptionLicenseTypeCluster
	if in.LicenseType != nil {
		lt = *in.LicenseType
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	id := newID()
	sub := eksapi.EksAnywhereSubscription{Id: &id, Arn: new(fmt.Sprintf("arn:aws:eks:%s:%s:eks-anywhere-subscription/%s", region, account, id)),
		CreatedAt: awsapi.Time(now), EffectiveDate: awsapi.Time(now), ExpirationDate: awsapi.Time(now.AddDate(0, int(*t.Duration), 0)),
		LicenseQuantity: &qty, LicenseType: &lt, Term: t, Status: new(string(eksapi.EksAnywhereSubscriptionStatusCreating)),
		AutoRenew: new(deref(in.AutoRenew)), LicenseArns: []string{}, Licenses: []eksapi.License{}, Tags: orEmptyMap(in.Tags)}
	for range qty {
		b := make([]byte, 16)
		rand.Read(b)
		lid := "l-" + hex.EncodeToString(b)
		tok := make([]byte, 24)
		rand.Read(tok)
		sub.LicenseArns = append(sub.LicenseArns, fmt.Sprintf("arn:aws:license-manager::%s:license:%s", account, lid))
		sub.Licenses = append(sub.Licenses, eksapi.License{Id: &lid, Token: new(hex.EncodeToString(tok))})
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if in.ClientRequestToken != nil {
			all, _, err := store.AllDocs[anywhereRec](tx, kindAnywhere, account, region, "", store.Page{})
			if err != nil {
				return err
			}
			for _, o := range all {
				if o.Token == *in.ClientRequestToken {
					sub = o.Sub
					return nil
				}
			}
		}
		return store.PutDoc(tx, kindAnywhere, account, region, id, anywhereRec{Sub: sub, Token: deref(in.ClientRequestToken)}, s.now())
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.CreateEksAnywhereSubscriptionOutput{Subscription: &sub}, nil
}

func anywhereSub(tx store.Tx, account, region, id string) (anywhereRec, error) {
	return mustGet[anywhereRec](tx, kindAnywhere, account, region, id, eksapi.NewResourceNotFoundException("No EKS Anywhere subscription found for id: %s.", id))
}

// DescribeEksAnywhereSubscription returns a subscription.
func (s *Service) DescribeEksAnywhereSubscription(ctx context.Context, in *eksapi.DescribeEksAnywhereSubscriptionInput) (*eksapi.DescribeEksAnywhereSubscriptionOutput, error) {
	account, region := where(ctx)
	var r anywhereRec
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		r, err = anywhereSub(tx, account, region, *in.Id)
		return err
	})
	if err != nil {
		return nil, err
	}
	sub := settle(r.Sub, s.now())
	return &eksapi.DescribeEksAnywhereSubscriptionOutput{Subscription: &sub}, nil
}

// ListEksAnywhereSubscriptions lists subscriptions, optionally only those
// in includeStatus.
func (s *Service) ListEksAnywhereSubscriptions(ctx context.Context, in *eksapi.ListEksAnywhereSubscriptionsInput) (*eksapi.ListEksAnywhereSubscriptionsOutput, error) {
	account, region := where(ctx)
	after, limit, err := pageArgs(in.MaxResults, in.NextToken, 10)
	if err != nil {
		return nil, err
	}
	out := &eksapi.ListEksAnywhereSubscriptionsOutput{Subscriptions: []eksapi.EksAnywhereSubscription{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		rs, ids, err := store.AllDocs[anywhereRec](tx, kindAnywhere, account, region, "", store.Page{After: after})
		if err != nil {
			return err
		}
		for i, r := range rs {
			sub := settle(r.Sub, s.now())
			if len(in.IncludeStatus) > 0 && !slices.Contains(in.IncludeStatus, eksapi.EksAnywhereSubscriptionStatus(*sub.Status)) {
				continue
			}
			if len(out.Subscriptions) == limit {
				out.NextToken = pageToken(ids[i-1])
				break
			}
			out.Subscriptions = append(out.Subscriptions, sub)
		}
		return nil
	})
	return out, err
}

// UpdateEksAnywhereSubscription turns auto-renewal on or off.
func (s *Service) UpdateEksAnywhereSubscription(ctx context.Context, in *eksapi.UpdateEksAnywhereSubscriptionInput) (*eksapi.UpdateEksAnywhereSubscriptionOutput, error) {
	account, region := where(ctx)
	var sub eksapi.EksAnywhereSubscription
	err := s.st.Update(ctx, func(tx store.Tx) error {
		r, err := anywhereSub(tx, account, region, *in.Id)
		if err != nil {
			return err
		}
		if st := *settle(r.Sub, s.now()).Status; st == string(eksapi.EksAnywhereSubscriptionStatusExpired) {
			return eksapi.NewInvalidRequestException("Subscription %s has expired and cannot be updated.", *in.Id)
		}
		r.Sub.AutoRenew = in.AutoRenew
		sub = r.Sub
		sub.Status = new(string(eksapi.EksAnywhereSubscriptionStatusUpdating))
		return store.PutDoc(tx, kindAnywhere, account, region, *in.Id, r, s.now())
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.UpdateEksAnywhereSubscriptionOutput{Subscription: &sub}, nil
}

// DeleteEksAnywhereSubscription cancels a subscription: only within 7 days
// of its creation, or once it has expired, as EKS allows.
func (s *Service) DeleteEksAnywhereSubscription(ctx context.Context, in *eksapi.DeleteEksAnywhereSubscriptionInput) (*eksapi.DeleteEksAnywhereSubscriptionOutput, error) {
	account, region := where(ctx)
	var sub eksapi.EksAnywhereSubscription
	err := s.st.Update(ctx, func(tx store.Tx) error {
		r, err := anywhereSub(tx, account, region, *in.Id)
		if err != nil {
			return err
		}
		now := s.now()
		expired := *settle(r.Sub, now).Status == string(eksapi.EksAnywhereSubscriptionStatusExpired)
		if !expired && now.Sub(r.Sub.CreatedAt.Time) > anywhereCancelWindow {
			return eksapi.NewInvalidRequestException("Subscription %s can only be cancelled within 7 days of its creation, or once it has expired.", *in.Id)
		}
		sub = r.Sub
		sub.Status = new(string(eksapi.EksAnywhereSubscriptionStatusDeleting))
		return store.DeleteDoc(tx, kindAnywhere, account, region, *in.Id)
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DeleteEksAnywhereSubscriptionOutput{Subscription: &sub}, nil
}
