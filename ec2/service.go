// Package ec2 is Berth's minimal Amazon EC2: the network pieces that ECS,
// Elastic Load Balancing and infrastructure tools look up. Every account
// and region has a default VPC (172.31.0.0/16) with one default subnet in
// each of three availability zones and a default security group, created
// the first time the account and region are used and kept in the store, so
// their ids are stable across restarts. Security groups can be created,
// given ingress and egress rules and deleted; VPCs, subnets and security
// groups carry tags. Nothing is enforced on traffic: the groups are
// records that ECS and ELB validate ids against.
//
// The network of one account and region is one store document, read and
// written in one transaction per call.
package ec2

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	ec2api "github.com/berth-dev/berth/api/ec2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// kindNetwork is the store kind of an account's network in a region.
const (
	kindNetwork = "ec2.network"
	networkID   = "network"
)

// Quotas, as EC2's defaults.
const (
	maxGroupsPerVPC   = 2500
	maxRulesPerGroup  = 60 // per direction
	maxTagsPerID      = 50
	maxVPCsPerRegion  = 5
	maxSubnetsPerVPC  = 200
	defaultVPCCIDR    = "172.31.0.0/16"
	defaultGroupName  = "default"
	defaultGroupDescr = "default VPC security group"
)

// Options configure a Service.
type Options struct {
	// Store keeps the networks in its resource area.
	Store store.Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the EC2 API for VPCs, subnets, security groups,
// availability zones, regions and their tags; every other operation
// answers NotImplemented.
type Service struct {
	ec2api.UnimplementedService
	st  store.Store
	now func() time.Time
}

var _ ec2api.Service = (*Service)(nil)

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("ec2: Store is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{st: o.Store, now: o.Now}, nil
}

// network is everything of one account in one region.
type network struct {
	VPCs    []*vpcRec    `json:"vpcs"`
	Subnets []*subnetRec `json:"subnets"`
	Groups  []*groupRec  `json:"groups"`
}

type vpcRec struct {
	ID      string            `json:"id"`
	CIDR    string            `json:"cidr"`
	Assoc   string            `json:"assoc"`
	DHCP    string            `json:"dhcp"`
	Tenancy string            `json:"tenancy,omitempty"`
	Default bool              `json:"default,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
}

type subnetRec struct {
	ID        string            `json:"id"`
	VPC       string            `json:"vpc"`
	CIDR      string            `json:"cidr"`
	Zone      string            `json:"zone"`
	Default   bool              `json:"default,omitempty"`
	MapPublic bool              `json:"mapPublic,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
}

type groupRec struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	VPC         string            `json:"vpc"`
	Rules       []*ruleRec        `json:"rules,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// ruleRec is one security group rule: one protocol and port range and one
// peer (a CIDR, an IPv6 CIDR, a group or a prefix list).
type ruleRec struct {
	ID          string `json:"id"`
	Egress      bool   `json:"egress,omitempty"`
	Protocol    string `json:"protocol"` // tcp, udp, icmp, icmpv6, -1 or a number
	From        int32  `json:"from"`     // -1: all
	To          int32  `json:"to"`
	CIDR        string `json:"cidr,omitempty"`
	CIDRv6      string `json:"cidrv6,omitempty"`
	Group       string `json:"group,omitempty"`
	GroupOwner  string `json:"groupOwner,omitempty"`
	PrefixList  string `json:"prefixList,omitempty"`
	Description string `json:"description,omitempty"`
}

// scope is the account and region a call acts in.
type scope struct{ account, region string }

func scopeOf(ctx context.Context) scope {
	id := awsapi.IdentityFrom(ctx)
	return scope{id.AccountID, id.Region}
}

// newID is prefix-<17 hex digits>, as EC2's long resource ids.
func newID(prefix string) string {
	var b [9]byte
	rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])[:17]
}

// defaults is a new network with the default VPC, its subnets and its
// default security group.
func defaults(sc scope) *network {
	v := &vpcRec{ID: newID("vpc"), CIDR: defaultVPCCIDR, Assoc: newID("vpc-cidr-assoc"), DHCP: newID("dopt"), Default: true}
	n := &network{VPCs: []*vpcRec{v}}
	for i, z := range zones(sc.region) {
		n.Subnets = append(n.Subnets, &subnetRec{ID: newID("subnet"), VPC: v.ID, CIDR: defaultSubnetCIDRs[i], Zone: z.name, Default: true, MapPublic: true})
	}
	n.Groups = append(n.Groups, defaultGroup(v.ID, sc.account))
	return n
}

var defaultSubnetCIDRs = []string{"172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"}

// defaultGroup is a VPC's default security group: all traffic from
// members of the group, all traffic out.
func defaultGroup(vpc, account string) *groupRec {
	g := &groupRec{ID: newID("sg"), Name: defaultGroupName, Description: defaultGroupDescr, VPC: vpc}
	g.Rules = []*ruleRec{
		{ID: newID("sgr"), Protocol: "-1", From: -1, To: -1, Group: g.ID, GroupOwner: account},
		{ID: newID("sgr"), Egress: true, Protocol: "-1", From: -1, To: -1, CIDR: "0.0.0.0/0"},
	}
	return g
}

// load reads the network of sc in tx, nil when it was never created.
func load(tx store.Tx, sc scope) (*network, error) {
	return store.GetDoc[network](tx, kindNetwork, sc.account, sc.region, networkID)
}

func (s *Service) save(tx store.Tx, sc scope, n *network) error {
	return store.PutDoc(tx, kindNetwork, sc.account, sc.region, networkID, n, s.now().UTC())
}

// view returns the network of sc, creating the defaults on first use.
func (s *Service) view(ctx context.Context, sc scope) (*network, error) {
	var n *network
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		n, err = load(tx, sc)
		return err
	})
	if err != nil || n != nil {
		return n, err
	}
	return s.update(ctx, sc, func(*network) error { return nil })
}

// update runs fn on the network of sc (created on first use) in one
// transaction and stores it when fn returns nil.
func (s *Service) update(ctx context.Context, sc scope, fn func(n *network) error) (*network, error) {
	var out *network
	err := s.st.Update(ctx, func(tx store.Tx) error {
		n, err := load(tx, sc)
		if err != nil {
			return err
		}
		if n == nil {
			n = defaults(sc)
		}
		if err := fn(n); err != nil {
			return err
		}
		out = n
		return s.save(tx, sc, n)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// dryRun answers a call with DryRun set, as EC2 does once it has checked
// the parameters.
func dryRun(flag *bool) error {
	if flag != nil && *flag {
		return awsapi.NewError(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	}
	return nil
}

func (n *network) vpc(id string) *vpcRec {
	for _, v := range n.VPCs {
		if v.ID == id {
			return v
		}
	}
	return nil
}

func (n *network) defaultVPC() *vpcRec {
	for _, v := range n.VPCs {
		if v.Default {
			return v
		}
	}
	return nil
}

func (n *network) subnet(id string) *subnetRec {
	for _, sn := range n.Subnets {
		if sn.ID == id {
			return sn
		}
	}
	return nil
}

func (n *network) group(id string) *groupRec {
	for _, g := range n.Groups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

func (n *network) groupByName(vpc, name string) *groupRec {
	for _, g := range n.Groups {
		if g.VPC == vpc && g.Name == name {
			return g
		}
	}
	return nil
}

func str(s string) *string { return &s }
func boolp(b bool) *bool   { return &b }
func i32(i int32) *int32   { return &i }
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
