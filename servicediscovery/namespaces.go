package servicediscovery

import (
	"context"
	"regexp"
	"slices"
	"strings"

	sdapi "github.com/berth-dev/berth/api/servicediscovery"
	"github.com/berth-dev/berth/store"
)

// dnsName is a public DNS namespace's name (the model's pattern): labels of letters,
// digits and hyphens, an optional final dot.
var dnsName = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.?$`)

// httpName is the model's pattern for HTTP namespace names.
var httpName = regexp.MustCompile(`^[!-~]+$`)

func equalFoldDNS(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// validNamespaceName checks a name for a namespace of type typ.
func validNamespaceName(typ sdapi.NamespaceType, name string) error {
	if typ == sdapi.NamespaceTypeHttp {
		if len(name) > 1024 || !httpName.MatchString(name) {
			return sdapi.NewInvalidInput("Namespace name %q is not valid: use printable ASCII characters, without spaces.", name)
		}
		return nil
	}
	if typ == sdapi.NamespaceTypeDnsPrivate {
		// A private namespace's name becomes a Route 53 private hosted zone's,
		// which may hold any printable ASCII character but a space (Route 53's
		// "DNS domain name format"), in labels of 1 to 63 bytes, 253 in all.
		trimmed := strings.TrimSuffix(name, ".")
		if len(trimmed) == 0 || len(trimmed) > 253 || !httpName.MatchString(trimmed) ||
			slices.ContainsFunc(strings.Split(trimmed, "."), func(l string) bool { return l == "" || len(l) > 63 }) {
			return sdapi.NewInvalidInput("Namespace name %q is not a valid domain name: use labels of 1 to 63 printable ASCII characters (no spaces), separated by dots, 253 characters in all.", name)
		}
		return nil
	}
	if len(name) > 253 || !dnsName.MatchString(name) {
		return sdapi.NewInvalidInput("Namespace name %q is not a valid domain name.", name)
	}
	return nil
}

type namespaceInput struct {
	typ              sdapi.NamespaceType
	name             string
	creatorRequestID string
	description      *string
	vpc              string
	soaTTL           *int64
	tags             []sdapi.Tag
}

func (s *Service) CreatePrivateDnsNamespace(ctx context.Context, in *sdapi.CreatePrivateDnsNamespaceInput) (*sdapi.CreatePrivateDnsNamespaceOutput, error) {
	ni := namespaceInput{typ: sdapi.NamespaceTypeDnsPrivate, name: deref(in.Name), creatorRequestID: deref(in.CreatorRequestId),
		description: in.Description, vpc: deref(in.Vpc), tags: in.Tags}
	if p := in.Properties; p != nil && p.DnsProperties != nil && p.DnsProperties.SOA != nil {
		ni.soaTTL = p.DnsProperties.SOA.TTL
	}
	if ni.vpc == "" {
		return nil, sdapi.NewInvalidInput("Vpc is required for a private DNS namespace.")
	}
	id, err := s.createNamespace(ctx, ni)
	if err != nil {
		return nil, err
	}
	return &sdapi.CreatePrivateDnsNamespaceOutput{OperationId: ptr(id)}, nil
}

func (s *Service) CreatePublicDnsNamespace(ctx context.Context, in *sdapi.CreatePublicDnsNamespaceInput) (*sdapi.CreatePublicDnsNamespaceOutput, error) {
	ni := namespaceInput{typ: sdapi.NamespaceTypeDnsPublic, name: deref(in.Name), creatorRequestID: deref(in.CreatorRequestId),
		description: in.Description, tags: in.Tags}
	if p := in.Properties; p != nil && p.DnsProperties != nil && p.DnsProperties.SOA != nil {
		ni.soaTTL = p.DnsProperties.SOA.TTL
	}
	id, err := s.createNamespace(ctx, ni)
	if err != nil {
		return nil, err
	}
	return &sdapi.CreatePublicDnsNamespaceOutput{OperationId: ptr(id)}, nil
}

func (s *Service) CreateHttpNamespace(ctx context.Context, in *sdapi.CreateHttpNamespaceInput) (*sdapi.CreateHttpNamespaceOutput, error) {
	id, err := s.createNamespace(ctx, namespaceInput{typ: sdapi.NamespaceTypeHttp, name: deref(in.Name),
		creatorRequestID: deref(in.CreatorRequestId), description: in.Description, tags: in.Tags})
	if err != nil {
		return nil, err
	}
	return &sdapi.CreateHttpNamespaceOutput{OperationId: ptr(id)}, nil
}

// createNamespace stores a namespace and its (finished) CREATE_NAMESPACE
// operation. A retry with the same CreatorRequestId answers the first
// call's operation.
func (s *Service) createNamespace(ctx context.Context, in namespaceInput) (string, error) {
	c := callerOf(ctx)
	if err := validNamespaceName(in.typ, in.name); err != nil {
		return "", err
	}
	tags, err := mergeTags(nil, in.tags)
	if err != nil {
		return "", err
	}
	now := s.clock()
	var opID string
	err = s.st.Update(ctx, func(tx store.Tx) error {
		old, err := findNamespaceByName(tx, c, in.name)
		if err != nil {
			return err
		}
		if old != nil {
			if in.creatorRequestID != "" && old.CreatorRequestID == in.creatorRequestID {
				opID = old.OperationID
				return nil
			}
			return sdapi.NewNamespaceAlreadyExists("Namespace with name %s already exists (namespace %s).", in.name, old.ID)
		}
		d := &namespaceDoc{ID: newNamespaceID(), Name: strings.TrimSuffix(in.name, "."), Type: string(in.typ),
			Description: in.description, Vpc: in.vpc, SOATTL: in.soaTTL, CreatorRequestID: in.creatorRequestID,
			Created: now, Tags: tags}
		d.ARN = c.arn("namespace/" + d.ID)
		if d.dns() {
			d.HostedZoneID = newHostedZoneID()
			if d.SOATTL == nil {
				d.SOATTL = ptr(int64(15))
			}
		}
		opID, err = addOperation(tx, c, sdapi.OperationTypeCreateNamespace, map[string]string{"NAMESPACE": d.ID}, now)
		if err != nil {
			return err
		}
		d.OperationID = opID
		return store.PutDoc(tx, KindNamespace, c.Account, c.Region, d.ID, d, now)
	})
	return opID, err
}

func namespaceProperties(d *namespaceDoc) *sdapi.NamespaceProperties {
	p := &sdapi.NamespaceProperties{HttpProperties: &sdapi.HttpProperties{HttpName: ptr(d.Name)}}
	if d.dns() {
		p.DnsProperties = &sdapi.DnsProperties{HostedZoneId: ptr(d.HostedZoneID)}
		if d.SOATTL != nil {
			p.DnsProperties.SOA = &sdapi.SOA{TTL: d.SOATTL}
		}
	}
	return p
}

func (s *Service) GetNamespace(ctx context.Context, in *sdapi.GetNamespaceInput) (*sdapi.GetNamespaceOutput, error) {
	c := callerOf(ctx)
	var out *sdapi.GetNamespaceOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, err := getNamespace(tx, c, deref(in.Id))
		if err != nil {
			return err
		}
		svcs, err := servicesOf(tx, c, d.ID)
		if err != nil {
			return err
		}
		ns := &sdapi.Namespace{Id: ptr(d.ID), Arn: ptr(d.ARN), ResourceOwner: ptr(c.Account), Name: ptr(d.Name),
			Type: ptr(sdapi.NamespaceType(d.Type)), Description: d.Description, ServiceCount: ptr(int32(len(svcs))),
			Properties: namespaceProperties(d), CreateDate: ts(d.Created)}
		if d.CreatorRequestID != "" {
			ns.CreatorRequestId = ptr(d.CreatorRequestID)
		}
		out = &sdapi.GetNamespaceOutput{Namespace: ns}
		return nil
	})
	return out, err
}

// matchFilter applies a filter's condition (EQ, IN, BEGINS_WITH) to v.
func matchFilter(cond *sdapi.FilterCondition, values []string, v string, fold bool) bool {
	eq := func(a, b string) bool {
		if fold {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	switch deref(cond) {
	case "", sdapi.FilterConditionEq:
		return len(values) > 0 && eq(values[0], v)
	case sdapi.FilterConditionIn:
		return slices.ContainsFunc(values, func(x string) bool { return eq(x, v) })
	case sdapi.FilterConditionBeginsWith:
		return len(values) > 0 && strings.HasPrefix(strings.ToLower(v), strings.ToLower(values[0]))
	}
	return false
}

// checkFilter validates one filter: values present, and a condition the
// filter's name allows.
func checkFilter(name string, cond *sdapi.FilterCondition, values []string, allowed ...sdapi.FilterCondition) error {
	if len(values) == 0 {
		return sdapi.NewInvalidInput("Filter %s must have at least one value.", name)
	}
	c := deref(cond)
	if c == "" {
		c = sdapi.FilterConditionEq
	}
	if !slices.Contains(allowed, c) {
		return sdapi.NewInvalidInput("Condition %s is not supported for filter %s.", c, name)
	}
	if c == sdapi.FilterConditionEq && len(values) != 1 {
		return sdapi.NewInvalidInput("Filter %s with condition EQ takes exactly one value.", name)
	}
	return nil
}

func namespaceMatches(c caller, d *namespaceDoc, filters []sdapi.NamespaceFilter) bool {
	for _, f := range filters {
		var v string
		fold := false
		switch deref(f.Name) {
		case sdapi.NamespaceFilterNameType:
			v = d.Type
		case sdapi.NamespaceFilterNameName:
			v, fold = d.Name, true
		case sdapi.NamespaceFilterNameHttpName:
			v, fold = d.Name, true
		case sdapi.NamespaceFilterNameResourceOwner:
			v = c.Account
			if len(f.Values) > 0 && f.Values[0] == "SELF" {
				continue
			}
		}
		if !matchFilter(f.Condition, f.Values, v, fold) {
			return false
		}
	}
	return true
}

func validateNamespaceFilters(filters []sdapi.NamespaceFilter) error {
	for _, f := range filters {
		name := deref(f.Name)
		allowed := []sdapi.FilterCondition{sdapi.FilterConditionEq, sdapi.FilterConditionIn}
		switch name {
		case sdapi.NamespaceFilterNameName, sdapi.NamespaceFilterNameHttpName:
			allowed = []sdapi.FilterCondition{sdapi.FilterConditionEq, sdapi.FilterConditionBeginsWith}
		case sdapi.NamespaceFilterNameResourceOwner:
			allowed = []sdapi.FilterCondition{sdapi.FilterConditionEq}
		}
		if err := checkFilter(string(name), f.Condition, f.Values, allowed...); err != nil {
			return err
		}
	}
	return nil
}

func pageLimit(max *int32) (int, error) {
	if max == nil {
		return 100, nil
	}
	if *max < 1 || *max > 100 {
		return 0, sdapi.NewInvalidInput("MaxResults must be between 1 and 100.")
	}
	return int(*max), nil
}

func (s *Service) ListNamespaces(ctx context.Context, in *sdapi.ListNamespacesInput) (*sdapi.ListNamespacesOutput, error) {
	c := callerOf(ctx)
	if err := validateNamespaceFilters(in.Filters); err != nil {
		return nil, err
	}
	limit, err := pageLimit(in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &sdapi.ListNamespacesOutput{}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.Namespaces, out.NextToken = []sdapi.NamespaceSummary{}, nil
		counts := map[string]int32{}
		err := store.ListDocs(tx, KindService, c.Account, c.Region, "", "", func(_ string, d *serviceDoc) (bool, error) {
			counts[d.NamespaceID]++
			return true, nil
		})
		if err != nil {
			return err
		}
		return store.ListDocs(tx, KindNamespace, c.Account, c.Region, "", deref(in.NextToken), func(id string, d *namespaceDoc) (bool, error) {
			if !namespaceMatches(c, d, in.Filters) {
				return true, nil
			}
			if len(out.Namespaces) == limit {
				out.NextToken = ptr(*out.Namespaces[limit-1].Id)
				return false, nil
			}
			out.Namespaces = append(out.Namespaces, sdapi.NamespaceSummary{Id: ptr(d.ID), Arn: ptr(d.ARN),
				ResourceOwner: ptr(c.Account), Name: ptr(d.Name), Type: ptr(sdapi.NamespaceType(d.Type)),
				Description: d.Description, ServiceCount: ptr(counts[d.ID]), Properties: namespaceProperties(d),
				CreateDate: ts(d.Created)})
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) DeleteNamespace(ctx context.Context, in *sdapi.DeleteNamespaceInput) (*sdapi.DeleteNamespaceOutput, error) {
	c := callerOf(ctx)
	now := s.clock()
	var opID string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getNamespace(tx, c, deref(in.Id))
		if err != nil {
			return err
		}
		svcs, err := servicesOf(tx, c, d.ID)
		if err != nil {
			return err
		}
		if len(svcs) > 0 {
			return sdapi.NewResourceInUse("The namespace %s has %d associated services. Delete them first.", d.ID, len(svcs))
		}
		if opID, err = addOperation(tx, c, sdapi.OperationTypeDeleteNamespace, map[string]string{"NAMESPACE": d.ID}, now); err != nil {
			return err
		}
		return store.DeleteDoc(tx, KindNamespace, c.Account, c.Region, d.ID)
	})
	if err != nil {
		return nil, err
	}
	return &sdapi.DeleteNamespaceOutput{OperationId: ptr(opID)}, nil
}

// updateNamespace changes a namespace's description and SOA TTL.
func (s *Service) updateNamespace(ctx context.Context, id string, typ sdapi.NamespaceType, desc *string, ttl *int64) (string, error) {
	c := callerOf(ctx)
	now := s.clock()
	var opID string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getNamespace(tx, c, id)
		if err != nil {
			return err
		}
		if d.Type != string(typ) {
			return sdapi.NewInvalidInput("Namespace %s is of type %s, not %s.", d.ID, d.Type, typ)
		}
		if desc != nil {
			d.Description = desc
		}
		if ttl != nil {
			d.SOATTL = ttl
		}
		if opID, err = addOperation(tx, c, sdapi.OperationTypeUpdateNamespace, map[string]string{"NAMESPACE": d.ID}, now); err != nil {
			return err
		}
		return store.PutDoc(tx, KindNamespace, c.Account, c.Region, d.ID, d, now)
	})
	return opID, err
}

func (s *Service) UpdateHttpNamespace(ctx context.Context, in *sdapi.UpdateHttpNamespaceInput) (*sdapi.UpdateHttpNamespaceOutput, error) {
	var desc *string
	if in.Namespace != nil {
		desc = in.Namespace.Description
	}
	id, err := s.updateNamespace(ctx, deref(in.Id), sdapi.NamespaceTypeHttp, desc, nil)
	if err != nil {
		return nil, err
	}
	return &sdapi.UpdateHttpNamespaceOutput{OperationId: ptr(id)}, nil
}

func (s *Service) UpdatePrivateDnsNamespace(ctx context.Context, in *sdapi.UpdatePrivateDnsNamespaceInput) (*sdapi.UpdatePrivateDnsNamespaceOutput, error) {
	var desc *string
	var ttl *int64
	if n := in.Namespace; n != nil {
		desc = n.Description
		if n.Properties != nil && n.Properties.DnsProperties != nil && n.Properties.DnsProperties.SOA != nil {
			ttl = n.Properties.DnsProperties.SOA.TTL
		}
	}
	id, err := s.updateNamespace(ctx, deref(in.Id), sdapi.NamespaceTypeDnsPrivate, desc, ttl)
	if err != nil {
		return nil, err
	}
	return &sdapi.UpdatePrivateDnsNamespaceOutput{OperationId: ptr(id)}, nil
}

func (s *Service) UpdatePublicDnsNamespace(ctx context.Context, in *sdapi.UpdatePublicDnsNamespaceInput) (*sdapi.UpdatePublicDnsNamespaceOutput, error) {
	var desc *string
	var ttl *int64
	if n := in.Namespace; n != nil {
		desc = n.Description
		if n.Properties != nil && n.Properties.DnsProperties != nil && n.Properties.DnsProperties.SOA != nil {
			ttl = n.Properties.DnsProperties.SOA.TTL
		}
	}
	id, err := s.updateNamespace(ctx, deref(in.Id), sdapi.NamespaceTypeDnsPublic, desc, ttl)
	if err != nil {
		return nil, err
	}
	return &sdapi.UpdatePublicDnsNamespaceOutput{OperationId: ptr(id)}, nil
}
