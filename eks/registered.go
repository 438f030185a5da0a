package eks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Registered clusters (EKS Connector) are kept as clusters with a
// connectorConfig, outside the controller's index: they stay PENDING, as
// EKS shows them until the connector agent in the external cluster
// connects with the activation code, which on Berth never happens.

// activationLifetime is how long EKS's activation code is valid.
const activationLifetime = 3 * 24 * time.Hour

// RegisterCluster records an external cluster PENDING with an activation
// for the EKS Connector.
func (s *Service) RegisterCluster(ctx context.Context, in *eksapi.RegisterClusterInput) (*eksapi.RegisterClusterOutput, error) {
	account, region := where(ctx)
	name := *in.Name
	cc := in.ConnectorConfig
	if !roleARNPattern.MatchString(deref(cc.RoleArn)) {
		return nil, eksapi.NewInvalidParameterException("connectorConfig.roleArn %s is not a valid IAM role ARN.", deref(cc.RoleArn))
	}
	if cc.Provider == nil {
		return nil, eksapi.NewInvalidParameterException("connectorConfig.provider is required.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	code := make([]byte, 18)
	rand.Read(code)
	c := eksapi.Cluster{Name: &name, Arn: new(clusterARN(account, region, name)), CreatedAt: s.ts(), Status: new(eksapi.ClusterStatusPending),
		ClientRequestToken: in.ClientRequestToken, Tags: orEmptyMap(in.Tags), Id: new(newID()),
		ConnectorConfig: &eksapi.ConnectorConfigResponse{ActivationId: new(newID()), ActivationCode: new(base64.StdEncoding.EncodeToString(code)),
			ActivationExpiry: awsapi.Time(s.now().UTC().Add(activationLifetime).Truncate(time.Millisecond)), Provider: new(string(*cc.Provider)), RoleArn: cc.RoleArn},
		Health: &eksapi.ClusterHealth{Issues: []eksapi.ClusterIssue{}},
		// Access entries and get-token tokens do not apply to a cluster EKS
		// does not run: CONFIG_MAP makes both refuse it.
		AccessConfig: &eksapi.AccessConfigResponse{AuthenticationMode: new(eksapi.AuthenticationModeConfigMap), BootstrapClusterCreatorAdminPermissions: new(false)}}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if old, err := newClusterName(tx, account, region, name, in.ClientRequestToken); err != nil || old != nil {
			if old != nil {
				c = *old
			}
			return err
		}
		return store.PutDoc(tx, kindCluster, account, region, name, clusterRec{Cluster: c}, s.now())
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.RegisterClusterOutput{Cluster: &c}, nil
}

// DeregisterCluster forgets a registered cluster. An EKS cluster cannot
// be deregistered: it is deleted with DeleteCluster.
func (s *Service) DeregisterCluster(ctx context.Context, in *eksapi.DeregisterClusterInput) (*eksapi.DeregisterClusterOutput, error) {
	account, region := where(ctx)
	name := *in.Name
	var c clusterRec
	err := s.st.Update(ctx, func(tx store.Tx) (err error) {
		if c, err = cluster(tx, account, region, name); err != nil {
			return err
		}
		if c.Cluster.ConnectorConfig == nil {
			return eksapi.NewInvalidRequestException("Cluster %s is an Amazon EKS cluster, not a registered one: delete it with delete-cluster.", name)
		}
		c.Cluster.Status = new(eksapi.ClusterStatusDeleting)
		return store.DeleteDoc(tx, kindCluster, account, region, name)
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DeregisterClusterOutput{Cluster: &c.Cluster}, nil
}
