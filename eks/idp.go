package eks

import (
	"context"
	"fmt"
	"net/url"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/store"
)

// kindIdentityProvider holds OIDC identity provider configs under
// "<cluster>/<name>". They are recorded, not honoured: Berth's API servers
// authenticate only through the token-review webhook (docs/eks.md).
const kindIdentityProvider = "eks.identityprovider"

// maxIdentityProvidersPerCluster is EKS's quota: one OIDC provider.
const maxIdentityProvidersPerCluster = 1

func identityProviderARN(account, region, cluster, name, id string) string {
	return fmt.Sprintf("arn:aws:eks:%s:%s:identityproviderconfig/%s/oidc/%s/%s", region, account, cluster, name, id)
}

// AssociateIdentityProviderConfig adds an OIDC provider CREATING with an
// AssociateIdentityProviderConfig update of the cluster (UPDATING); the
// controller makes both ACTIVE/Successful.
func (s *Service) AssociateIdentityProviderConfig(ctx context.Context, in *eksapi.AssociateIdentityProviderConfigInput) (*eksapi.AssociateIdentityProviderConfigOutput, error) {
	account, region := where(ctx)
	cname := *in.ClusterName
	o := in.Oidc
	if o == nil {
		return nil, eksapi.NewInvalidParameterException("oidc is required.")
	}
	name := deref(o.IdentityProviderConfigName)
	if u, err := url.Parse(deref(o.IssuerUrl)); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, eksapi.NewInvalidParameterException("issuerUrl %q is invalid: it must be an https URL.", deref(o.IssuerUrl))
	}
	if deref(o.ClientId) == "" {
		return nil, eksapi.NewInvalidParameterException("clientId is required.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	p := eksapi.OidcIdentityProviderConfig{IdentityProviderConfigName: &name, IdentityProviderConfigArn: new(identityProviderARN(account, region, cname, name, newID())),
		ClusterName: &cname, IssuerUrl: o.IssuerUrl, ClientId: o.ClientId, UsernameClaim: o.UsernameClaim, UsernamePrefix: o.UsernamePrefix,
		GroupsClaim: o.GroupsClaim, GroupsPrefix: o.GroupsPrefix, RequiredClaims: orEmptyMap(o.RequiredClaims), Tags: orEmptyMap(in.Tags),
		Status: new(eksapi.ConfigStatusCreating)}
	if p.UsernameClaim == nil {
		p.UsernameClaim = new("sub")
	}
	u, err := s.updateClusterTx(ctx, cname, func(tx store.Tx, c *clusterRec) (eksapi.Update, error) {
		all, _, err := store.AllDocs[eksapi.OidcIdentityProviderConfig](tx, kindIdentityProvider, account, region, cname+"/", store.Page{})
		if err != nil {
			return eksapi.Update{}, err
		}
		for _, other := range all {
			if *other.IdentityProviderConfigName == name {
				return eksapi.Update{}, eksapi.NewResourceInUseException("An identity provider config with name %s is already associated with cluster %s.", name, cname)
			}
		}
		if len(all) >= maxIdentityProvidersPerCluster {
			return eksapi.Update{}, eksapi.NewResourceLimitExceededException("Cluster %s already has %d identity provider config: at most %d.", cname, len(all), maxIdentityProvidersPerCluster)
		}
		if err := store.PutDoc(tx, kindIdentityProvider, account, region, cname+"/"+name, p, s.now()); err != nil {
			return eksapi.Update{}, err
		}
		return s.newUpdate(eksapi.UpdateTypeAssociateIdentityProviderConfig, param(eksapi.UpdateParamTypeIdentityProviderConfig, idpParam(name))), nil
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.AssociateIdentityProviderConfigOutput{Update: u, Tags: p.Tags}, nil
}

func idpParam(name string) string {
	t, _ := jsonText([]eksapi.IdentityProviderConfig{{Type: new("oidc"), Name: &name}})
	return t
}

// updateClusterTx is updateCluster for changes that write other records
// in the same transaction.
func (s *Service) updateClusterTx(ctx context.Context, name string, change func(tx store.Tx, c *clusterRec) (eksapi.Update, error)) (*eksapi.Update, error) {
	account, region := where(ctx)
	var u eksapi.Update
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := activeCluster(tx, account, region, name)
		if err != nil {
			return err
		}
		if u, err = change(tx, &c); err != nil {
			return err
		}
		c.Cluster.Status = new(eksapi.ClusterStatusUpdating)
		if err := store.PutDoc(tx, kindCluster, account, region, name, c, s.now()); err != nil {
			return err
		}
		return store.PutDoc(tx, kindUpdate, account, region, name+"/"+*u.Id, updateRec{Update: u}, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &u, nil
}

func identityProvider(tx store.Tx, account, region, cname string, ref *eksapi.IdentityProviderConfig) (eksapi.OidcIdentityProviderConfig, error) {
	if _, err := cluster(tx, account, region, cname); err != nil {
		return eksapi.OidcIdentityProviderConfig{}, err
	}
	if ref == nil || deref(ref.Type) != "oidc" {
		return eksapi.OidcIdentityProviderConfig{}, eksapi.NewInvalidParameterException("identityProviderConfig.type must be oidc.")
	}
	return mustGet[eksapi.OidcIdentityProviderConfig](tx, kindIdentityProvider, account, region, cname+"/"+deref(ref.Name),
		eksapi.NewResourceNotFoundException("No identity provider config found for name: %s.", deref(ref.Name)))
}

// DescribeIdentityProviderConfig returns an OIDC provider config.
func (s *Service) DescribeIdentityProviderConfig(ctx context.Context, in *eksapi.DescribeIdentityProviderConfigInput) (*eksapi.DescribeIdentityProviderConfigOutput, error) {
	account, region := where(ctx)
	var p eksapi.OidcIdentityProviderConfig
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		p, err = identityProvider(tx, account, region, *in.ClusterName, in.IdentityProviderConfig)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DescribeIdentityProviderConfigOutput{IdentityProviderConfig: &eksapi.IdentityProviderConfigResponse{Oidc: &p}}, nil
}

// ListIdentityProviderConfigs lists a cluster's provider configs.
func (s *Service) ListIdentityProviderConfigs(ctx context.Context, in *eksapi.ListIdentityProviderConfigsInput) (*eksapi.ListIdentityProviderConfigsOutput, error) {
	account, region := where(ctx)
	names, next, err := s.listNames(ctx, kindIdentityProvider, account, region, *in.ClusterName, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &eksapi.ListIdentityProviderConfigsOutput{IdentityProviderConfigs: []eksapi.IdentityProviderConfig{}, NextToken: next}
	for _, n := range names {
		out.IdentityProviderConfigs = append(out.IdentityProviderConfigs, eksapi.IdentityProviderConfig{Type: new("oidc"), Name: new(n)})
	}
	return out, nil
}

// DisassociateIdentityProviderConfig marks a provider config DELETING with
// a DisassociateIdentityProviderConfig update; the controller forgets it.
func (s *Service) DisassociateIdentityProviderConfig(ctx context.Context, in *eksapi.DisassociateIdentityProviderConfigInput) (*eksapi.DisassociateIdentityProviderConfigOutput, error) {
	account, region := where(ctx)
	cname := *in.ClusterName
	u, err := s.updateClusterTx(ctx, cname, func(tx store.Tx, c *clusterRec) (eksapi.Update, error) {
		p, err := identityProvider(tx, account, region, cname, in.IdentityProviderConfig)
		if err != nil {
			return eksapi.Update{}, err
		}
		if *p.Status != eksapi.ConfigStatusActive {
			return eksapi.Update{}, eksapi.NewResourceInUseException("Identity provider config %s is %s; it can be disassociated once ACTIVE.", *p.IdentityProviderConfigName, *p.Status)
		}
		p.Status = new(eksapi.ConfigStatusDeleting)
		if err := store.PutDoc(tx, kindIdentityProvider, account, region, cname+"/"+*p.IdentityProviderConfigName, p, s.now()); err != nil {
			return eksapi.Update{}, err
		}
		return s.newUpdate(eksapi.UpdateTypeDisassociateIdentityProviderConfig, param(eksapi.UpdateParamTypeIdentityProviderConfig, idpParam(*p.IdentityProviderConfigName))), nil
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DisassociateIdentityProviderConfigOutput{Update: u}, nil
}

// reconcileIdentityProviders completes associations and disassociations:
// CREATING configs turn ACTIVE, DELETING ones go.
func (s *Service) reconcileIdentityProviders(ctx context.Context, ref ClusterRef) error {
	pending := false
	err := s.st.View(ctx, func(tx store.Tx) error {
		ps, _, err := store.AllDocs[eksapi.OidcIdentityProviderConfig](tx, kindIdentityProvider, ref.Account, ref.Region, ref.Name+"/", store.Page{})
		for _, p := range ps {
			pending = pending || *p.Status != eksapi.ConfigStatusActive
		}
		return err
	})
	if err != nil || !pending {
		return err
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		ps, ids, err := store.AllDocs[eksapi.OidcIdentityProviderConfig](tx, kindIdentityProvider, ref.Account, ref.Region, ref.Name+"/", store.Page{})
		if err != nil {
			return err
		}
		for i, p := range ps {
			switch *p.Status {
			case eksapi.ConfigStatusCreating:
				p.Status = new(eksapi.ConfigStatusActive)
				if err := store.PutDoc(tx, kindIdentityProvider, ref.Account, ref.Region, ids[i], p, s.now()); err != nil {
					return err
				}
			case eksapi.ConfigStatusDeleting:
				if err := store.DeleteDoc(tx, kindIdentityProvider, ref.Account, ref.Region, ids[i]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
