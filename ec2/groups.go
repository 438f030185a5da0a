package ec2

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	ec2api "github.com/berth-dev/berth/api/ec2"
)

func groupARN(sc scope, id string) string {
	return "arn:aws:ec2:" + sc.region + ":" + sc.account + ":security-group/" + id
}

func (g *groupRec) wire(sc scope) ec2api.SecurityGroup {
	return ec2api.SecurityGroup{
		GroupId: str(g.ID), GroupName: str(g.Name), Description: str(g.Description), VpcId: str(g.VPC),
		OwnerId: str(sc.account), SecurityGroupArn: str(groupARN(sc, g.ID)), Tags: tagsIfAny(g.Tags),
		IpPermissions: permissions(g.Rules, false), IpPermissionsEgress: permissions(g.Rules, true),
	}
}

// tagsIfAny is tags as EC2 lists them, or nil: EC2 leaves tagSet out of a
// security group (and of the rules Authorize echoes) that has no tags.
func tagsIfAny(tags map[string]string) []ec2api.Tag {
	if len(tags) == 0 {
		return nil
	}
	return wireTags(tags)
}

// hasPorts reports whether the ports of a protocol's rules are listed.
func hasPorts(protocol string) bool {
	switch protocol {
	case "tcp", "udp", "icmp", "icmpv6":
		return true
	}
	return false
}

// permissions groups the rules of one direction into IpPermissions by
// protocol and port range, in the order the rules were added.
func permissions(rules []*ruleRec, egress bool) []ec2api.IpPermission {
	out := []ec2api.IpPermission{}
	index := map[string]int{}
	for _, r := range rules {
		if r.Egress != egress {
			continue
		}
		key := fmt.Sprintf("%s/%d/%d", r.Protocol, r.From, r.To)
		i, ok := index[key]
		if !ok {
			p := ec2api.IpPermission{IpProtocol: str(r.Protocol), IpRanges: []ec2api.IpRange{}, Ipv6Ranges: []ec2api.Ipv6Range{},
				PrefixListIds: []ec2api.PrefixListId{}, UserIdGroupPairs: []ec2api.UserIdGroupPair{}}
			if hasPorts(r.Protocol) {
				p.FromPort, p.ToPort = i32(r.From), i32(r.To)
			}
			out = append(out, p)
			i = len(out) - 1
			index[key] = i
		}
		p := &out[i]
		desc := optional(r.Description)
		switch {
		case r.CIDR != "":
			p.IpRanges = append(p.IpRanges, ec2api.IpRange{CidrIp: str(r.CIDR), Description: desc})
		case r.CIDRv6 != "":
			p.Ipv6Ranges = append(p.Ipv6Ranges, ec2api.Ipv6Range{CidrIpv6: str(r.CIDRv6), Description: desc})
		case r.PrefixList != "":
			p.PrefixListIds = append(p.PrefixListIds, ec2api.PrefixListId{PrefixListId: str(r.PrefixList), Description: desc})
		case r.Group != "":
			p.UserIdGroupPairs = append(p.UserIdGroupPairs, ec2api.UserIdGroupPair{GroupId: str(r.Group), UserId: str(r.GroupOwner), Description: desc})
		}
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (r *ruleRec) wire(sc scope, group string) ec2api.SecurityGroupRule {
	w := ec2api.SecurityGroupRule{
		SecurityGroupRuleId: str(r.ID), GroupId: str(group), GroupOwnerId: str(sc.account), IsEgress: boolp(r.Egress),
		IpProtocol: str(r.Protocol), FromPort: i32(r.From), ToPort: i32(r.To), Description: optional(r.Description),
		CidrIpv4: optional(r.CIDR), CidrIpv6: optional(r.CIDRv6), PrefixListId: optional(r.PrefixList), Tags: []ec2api.Tag{},
		SecurityGroupRuleArn: str("arn:aws:ec2:" + sc.region + ":" + sc.account + ":security-group-rule/" + r.ID),
	}
	if r.Group != "" {
		w.ReferencedGroupInfo = &ec2api.ReferencedSecurityGroup{GroupId: str(r.Group), UserId: str(r.GroupOwner)}
	}
	return w
}

func (r *ruleRec) revoked(group string) ec2api.RevokedSecurityGroupRule {
	return ec2api.RevokedSecurityGroupRule{
		SecurityGroupRuleId: str(r.ID), GroupId: str(group), IsEgress: boolp(r.Egress), IpProtocol: str(r.Protocol),
		FromPort: i32(r.From), ToPort: i32(r.To), CidrIpv4: optional(r.CIDR), CidrIpv6: optional(r.CIDRv6),
		PrefixListId: optional(r.PrefixList), ReferencedGroupId: optional(r.Group), Description: optional(r.Description),
	}
}

// key identifies what a rule allows, whatever its id and description.
func (r *ruleRec) key() string {
	return fmt.Sprintf("%t|%s|%d|%d|%s|%s|%s|%s", r.Egress, r.Protocol, r.From, r.To, r.CIDR, r.CIDRv6, r.Group, r.PrefixList)
}

// describe is EC2's wording of a rule in InvalidPermission messages.
func (r *ruleRec) describe() string {
	peer := r.CIDR + r.CIDRv6 + r.PrefixList + r.Group
	proto := strings.ToUpper(r.Protocol)
	if r.Protocol == "-1" {
		proto = "ALL"
	}
	action := "ALLOW"
	if hasPorts(r.Protocol) {
		return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, %s", peer, proto, r.From, r.To, action)
	}
	return fmt.Sprintf("peer: %s, %s, %s", peer, proto, action)
}

// normProtocol is a protocol as EC2 stores it: tcp, udp, icmp, icmpv6,
// -1 for all, or another IP protocol's number.
func normProtocol(p string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "tcp", "6":
		return "tcp", nil
	case "udp", "17":
		return "udp", nil
	case "icmp", "1":
		return "icmp", nil
	case "icmpv6", "58":
		return "icmpv6", nil
	case "-1", "all":
		return "-1", nil
	}
	if n, err := strconv.Atoi(p); err == nil && n >= 0 && n <= 255 {
		return strconv.Itoa(n), nil
	}
	return "", invalidParam("Invalid value '%s' for IP protocol. Unknown protocol.", p)
}

// ports checks the port range of a permission for its protocol.
func ports(protocol string, from, to *int32) (int32, int32, error) {
	switch protocol {
	case "tcp", "udp":
		if from == nil || to == nil {
			return 0, 0, invalidParam("Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.")
		}
		if *from < 0 || *from > 65535 || *to < 0 || *to > 65535 {
			return 0, 0, invalidParam("Invalid value '%d-%d' for portRange. Ports must be between 0 and 65535.", *from, *to)
		}
		if *from > *to {
			return 0, 0, apiErr("InvalidParameterValue", fmt.Sprintf("Invalid TCP/UDP port range (%d, %d)", *from, *to))
		}
		return *from, *to, nil
	case "icmp", "icmpv6":
		f, t := int32(-1), int32(-1)
		if from != nil {
			f = *from
		}
		if to != nil {
			t = *to
		}
		if f < -1 || f > 255 || t < -1 || t > 255 {
			return 0, 0, invalidParam("Invalid value '%d' for ICMP type or '%d' for ICMP code.", f, t)
		}
		return f, t, nil
	}
	return -1, -1, nil
}

// legacyPermissions are the single permission of the older top-level
// parameters (IpProtocol, FromPort, ToPort, CidrIp,
// SourceSecurityGroupName), which `aws ec2 authorize-security-group-ingress
// --protocol tcp --port 80 --cidr 0.0.0.0/0` sends.
func legacyPermissions(proto *string, from, to *int32, cidr, srcName, srcOwner *string) []ec2api.IpPermission {
	if proto == nil && cidr == nil && srcName == nil {
		return nil
	}
	p := ec2api.IpPermission{IpProtocol: proto, FromPort: from, ToPort: to}
	if p.IpProtocol == nil {
		p.IpProtocol = str("-1")
	}
	if cidr != nil {
		p.IpRanges = []ec2api.IpRange{{CidrIp: cidr}}
	}
	if srcName != nil {
		p.UserIdGroupPairs = []ec2api.UserIdGroupPair{{GroupName: srcName, UserId: srcOwner}}
	}
	return []ec2api.IpPermission{p}
}

// rules turns permissions into one rule per peer, for group g.
func (n *network) rules(sc scope, g *groupRec, perms []ec2api.IpPermission, egress bool) ([]*ruleRec, error) {
	var out []*ruleRec
	for _, p := range perms {
		if p.IpProtocol == nil {
			return nil, missingParam("IpProtocol")
		}
		proto, err := normProtocol(*p.IpProtocol)
		if err != nil {
			return nil, err
		}
		from, to, err := ports(proto, p.FromPort, p.ToPort)
		if err != nil {
			return nil, err
		}
		base := ruleRec{Egress: egress, Protocol: proto, From: from, To: to}
		add := func(r ruleRec) { r.ID = newID("sgr"); out = append(out, &r) }
		for _, ip := range p.IpRanges {
			c, err := netip.ParsePrefix(deref(ip.CidrIp))
			if err != nil || !c.Addr().Is4() || c.Masked() != c {
				return nil, invalidParam("CIDR block %s is malformed", deref(ip.CidrIp))
			}
			r := base
			r.CIDR, r.Description = c.String(), deref(ip.Description)
			add(r)
		}
		for _, ip := range p.Ipv6Ranges {
			c, err := netip.ParsePrefix(deref(ip.CidrIpv6))
			if err != nil || !c.Addr().Is6() || c.Masked() != c {
				return nil, invalidParam("CIDR block %s is malformed", deref(ip.CidrIpv6))
			}
			r := base
			r.CIDRv6, r.Description = c.String(), deref(ip.Description)
			add(r)
		}
		for _, pl := range p.PrefixListIds {
			if !strings.HasPrefix(deref(pl.PrefixListId), "pl-") {
				return nil, apiErr("InvalidPrefixListId.Malformed", fmt.Sprintf("The prefix list ID '%s' is malformed", deref(pl.PrefixListId)))
			}
			r := base
			r.PrefixList, r.Description = deref(pl.PrefixListId), deref(pl.Description)
			add(r)
		}
		for _, pair := range p.UserIdGroupPairs {
			var peer *groupRec
			switch {
			case pair.GroupId != nil:
				if err := sgCodes.check(*pair.GroupId); err != nil {
					return nil, apiError(err)
				}
				if peer = n.group(*pair.GroupId); peer == nil {
					return nil, apiError(groupNotFound(*pair.GroupId))
				}
			case pair.GroupName != nil:
				if peer = n.groupByName(g.VPC, *pair.GroupName); peer == nil {
					return nil, apiError(groupNameNotFound(*pair.GroupName, g.VPC))
				}
			default:
				return nil, missingParam("GroupId")
			}
			if pair.UserId != nil && *pair.UserId != "" && *pair.UserId != sc.account {
				return nil, apiError(groupNotFound(peer.ID))
			}
			r := base
			r.Group, r.GroupOwner, r.Description = peer.ID, sc.account, deref(pair.Description)
			add(r)
		}
		if len(p.IpRanges)+len(p.Ipv6Ranges)+len(p.PrefixListIds)+len(p.UserIdGroupPairs) == 0 {
			return nil, missingParam("IpPermissions.N.IpRanges, Ipv6Ranges, PrefixListIds or UserIdGroupPairs")
		}
	}
	return out, nil
}

// findGroup resolves a group by id, or by name in the default VPC.
func (n *network) findGroup(id, name *string) (*groupRec, error) {
	switch {
	case id != nil && *id != "":
		if err := sgCodes.check(*id); err != nil {
			return nil, apiError(err)
		}
		if g := n.group(*id); g != nil {
			return g, nil
		}
		return nil, apiError(groupNotFound(*id))
	case name != nil && *name != "":
		v := n.defaultVPC()
		if v == nil {
			return nil, apiErr("VPCIdNotSpecified", "No default VPC for this user")
		}
		if g := n.groupByName(v.ID, *name); g != nil {
			return g, nil
		}
		return nil, apiError(&NotFoundError{Kind: "security-group", ID: *name, Code: "InvalidGroup.NotFound",
			Message: fmt.Sprintf("The security group '%s' does not exist in default VPC '%s'", *name, v.ID)})
	}
	return nil, missingParam("GroupId")
}

func (g *groupRec) attrs(sc scope) attrs {
	return func(name string) ([]string, bool) {
		switch name {
		case "group-id":
			return one(g.ID), true
		case "group-name":
			return one(g.Name), true
		case "vpc-id":
			return one(g.VPC), true
		case "description":
			return one(g.Description), true
		case "owner-id":
			return one(sc.account), true
		}
		if dir, rest, ok := strings.Cut(name, "ip-permission."); ok && (dir == "" || dir == "egress.") {
			var vals []string
			for _, r := range g.Rules {
				if r.Egress != (dir == "egress.") {
					continue
				}
				switch rest {
				case "protocol":
					vals = append(vals, r.Protocol)
				case "from-port":
					vals = append(vals, strconv.Itoa(int(r.From)))
				case "to-port":
					vals = append(vals, strconv.Itoa(int(r.To)))
				case "cidr":
					vals = append(vals, r.CIDR)
				case "ipv6-cidr":
					vals = append(vals, r.CIDRv6)
				case "group-id":
					vals = append(vals, r.Group)
				case "prefix-list-id":
					vals = append(vals, r.PrefixList)
				default:
					return nil, false
				}
			}
			return vals, true
		}
		return tagAttrs(name, g.Tags)
	}
}

// DescribeSecurityGroups lists security groups by id, by name (in the
// default VPC) and by filters.
func (s *Service) DescribeSecurityGroups(ctx context.Context, in *ec2api.DescribeSecurityGroupsInput) (*ec2api.DescribeSecurityGroupsOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	for _, id := range in.GroupIds {
		if err := sgCodes.check(id); err != nil {
			return nil, apiError(err)
		}
	}
	sc := scopeOf(ctx)
	n, err := s.view(ctx, sc)
	if err != nil {
		return nil, err
	}
	for _, id := range in.GroupIds {
		if n.group(id) == nil {
			return nil, apiError(groupNotFound(id))
		}
	}
	var named []string
	for _, name := range in.GroupNames {
		g, err := n.findGroup(nil, &name)
		if err != nil {
			return nil, err
		}
		named = append(named, g.ID)
	}
	out := &ec2api.DescribeSecurityGroupsOutput{SecurityGroups: []ec2api.SecurityGroup{}}
	for _, g := range n.Groups {
		if len(in.GroupIds) > 0 && !slices.Contains(in.GroupIds, g.ID) || len(in.GroupNames) > 0 && !slices.Contains(named, g.ID) {
			continue
		}
		ok, err := matches(in.Filters, g.attrs(sc))
		if err != nil {
			return nil, err
		}
		if ok {
			out.SecurityGroups = append(out.SecurityGroups, g.wire(sc))
		}
	}
	return out, nil
}

// validGroupName is what EC2 allows in VPC security group names and
// descriptions: printable ASCII.
func validGroupText(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

// CreateSecurityGroup creates a security group in a VPC (the default VPC
// when none is given) that allows all traffic out.
func (s *Service) CreateSecurityGroup(ctx context.Context, in *ec2api.CreateSecurityGroupInput) (*ec2api.CreateSecurityGroupOutput, error) {
	name, desc := deref(in.GroupName), deref(in.Description)
	switch {
	case name == "":
		return nil, missingParam("GroupName")
	case desc == "":
		// EC2 treats an empty description as a missing one.
		return nil, missingParam("GroupDescription")
	case len(name) > 255 || !validGroupText(name):
		return nil, invalidParam("Value (%s) for parameter GroupName is invalid. Character sets beyond ASCII are not supported.", name)
	case len(desc) > 255 || !validGroupText(desc):
		return nil, invalidParam("Value (%s) for parameter GroupDescription is invalid. Character sets beyond ASCII are not supported.", desc)
	case strings.HasPrefix(strings.ToLower(name), "sg-"):
		return nil, invalidParam("Group names may not be in the format sg-*.")
	case name == defaultGroupName:
		return nil, apiErr("InvalidParameterValue", "Cannot use reserved security group name: default")
	}
	if in.VpcId != nil {
		if err := vpcCodes.check(*in.VpcId); err != nil {
			return nil, apiError(err)
		}
	}
	tags, err := specTags(in.TagSpecifications, "security-group")
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	sc := scopeOf(ctx)
	var g *groupRec
	_, err = s.update(ctx, sc, func(n *network) error {
		var v *vpcRec
		if in.VpcId != nil {
			if v = n.vpc(*in.VpcId); v == nil {
				return apiError(vpcNotFound(*in.VpcId))
			}
		} else if v = n.defaultVPC(); v == nil {
			return apiErr("VPCIdNotSpecified", "No default VPC for this user")
		}
		count := 0
		for _, o := range n.Groups {
			if o.VPC != v.ID {
				continue
			}
			count++
			if o.Name == name {
				return apiErr("InvalidGroup.Duplicate", fmt.Sprintf("The security group '%s' already exists for VPC '%s'", name, v.ID))
			}
		}
		if count >= maxGroupsPerVPC {
			return limitExceeded("SecurityGroupLimitExceeded", "The maximum number of security groups has been reached.")
		}
		g = &groupRec{ID: newID("sg"), Name: name, Description: desc, VPC: v.ID, Tags: tags}
		g.Rules = []*ruleRec{{ID: newID("sgr"), Egress: true, Protocol: "-1", From: -1, To: -1, CIDR: "0.0.0.0/0"}}
		n.Groups = append(n.Groups, g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &ec2api.CreateSecurityGroupOutput{GroupId: str(g.ID), SecurityGroupArn: str(groupARN(sc, g.ID))}
	if len(g.Tags) > 0 {
		out.Tags = wireTags(g.Tags)
	}
	return out, nil
}

// DeleteSecurityGroup deletes a group that is not a default group and
// that no other group's rules refer to.
func (s *Service) DeleteSecurityGroup(ctx context.Context, in *ec2api.DeleteSecurityGroupInput) (*ec2api.DeleteSecurityGroupOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	var id string
	_, err := s.update(ctx, scopeOf(ctx), func(n *network) error {
		g, err := n.findGroup(in.GroupId, in.GroupName)
		if err != nil {
			return err
		}
		id = g.ID
		if g.Name == defaultGroupName {
			return apiErr("CannotDelete", fmt.Sprintf("the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.ID))
		}
		for _, o := range n.Groups {
			if o == g {
				continue
			}
			for _, r := range o.Rules {
				if r.Group == g.ID {
					return apiErr("DependencyViolation", fmt.Sprintf("resource %s has a dependent object", g.ID))
				}
			}
		}
		n.Groups = slices.DeleteFunc(n.Groups, func(o *groupRec) bool { return o == g })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ec2api.DeleteSecurityGroupOutput{Return: boolp(true), GroupId: str(id)}, nil
}

// authorize adds rules to a group; a rule it has already is
// InvalidPermission.Duplicate and nothing is added.
func (s *Service) authorize(ctx context.Context, id, name *string, perms []ec2api.IpPermission, egress bool, specs []ec2api.TagSpecification) ([]ec2api.SecurityGroupRule, error) {
	if len(perms) == 0 {
		return nil, missingParam("IpPermissions")
	}
	tags, err := specTags(specs, "security-group-rule")
	if err != nil {
		return nil, err
	}
	sc := scopeOf(ctx)
	var out []ec2api.SecurityGroupRule
	_, err = s.update(ctx, sc, func(n *network) error {
		g, err := n.findGroup(id, name)
		if err != nil {
			return err
		}
		added, err := n.rules(sc, g, perms, egress)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		count := 0
		for _, r := range g.Rules {
			have[r.key()] = true
			if r.Egress == egress {
				count++
			}
		}
		for _, r := range added {
			if have[r.key()] {
				return apiErr("InvalidPermission.Duplicate", fmt.Sprintf("the specified rule \"%s\" already exists", r.describe()))
			}
			have[r.key()] = true
		}
		if count+len(added) > maxRulesPerGroup {
			return limitExceeded("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")
		}
		g.Rules = append(g.Rules, added...)
		for _, r := range added {
			w := r.wire(sc, g.ID)
			w.Tags = tagsIfAny(tags)
			out = append(out, w)
		}
		return nil
	})
	return out, err
}

// AuthorizeSecurityGroupIngress adds inbound rules.
func (s *Service) AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2api.AuthorizeSecurityGroupIngressInput) (*ec2api.AuthorizeSecurityGroupIngressOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	perms := in.IpPermissions
	if len(perms) == 0 {
		perms = legacyPermissions(in.IpProtocol, in.FromPort, in.ToPort, in.CidrIp, in.SourceSecurityGroupName, in.SourceSecurityGroupOwnerId)
	}
	rules, err := s.authorize(ctx, in.GroupId, in.GroupName, perms, false, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	return &ec2api.AuthorizeSecurityGroupIngressOutput{Return: boolp(true), SecurityGroupRules: rules}, nil
}

// AuthorizeSecurityGroupEgress adds outbound rules.
func (s *Service) AuthorizeSecurityGroupEgress(ctx context.Context, in *ec2api.AuthorizeSecurityGroupEgressInput) (*ec2api.AuthorizeSecurityGroupEgressOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	perms := in.IpPermissions
	if len(perms) == 0 {
		perms = legacyPermissions(in.IpProtocol, in.FromPort, in.ToPort, in.CidrIp, in.SourceSecurityGroupName, in.SourceSecurityGroupOwnerId)
	}
	rules, err := s.authorize(ctx, in.GroupId, nil, perms, true, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	return &ec2api.AuthorizeSecurityGroupEgressOutput{Return: boolp(true), SecurityGroupRules: rules}, nil
}

// revoke removes rules by id or by what they allow. Permissions that match
// no rule are returned, not refused, as EC2 does; unknown rule ids are
// InvalidSecurityGroupRuleId.NotFound.
func (s *Service) revoke(ctx context.Context, id, name *string, perms []ec2api.IpPermission, ruleIDs []string, egress bool) ([]ec2api.RevokedSecurityGroupRule, []ec2api.IpPermission, error) {
	if len(perms) == 0 && len(ruleIDs) == 0 {
		return nil, nil, missingParam("IpPermissions")
	}
	sc := scopeOf(ctx)
	var revoked []ec2api.RevokedSecurityGroupRule
	var unknown []ec2api.IpPermission
	_, err := s.update(ctx, sc, func(n *network) error {
		g, err := n.findGroup(id, name)
		if err != nil {
			return err
		}
		drop := map[string]bool{}
		for _, rid := range ruleIDs {
			i := slices.IndexFunc(g.Rules, func(r *ruleRec) bool { return r.ID == rid && r.Egress == egress })
			if i < 0 {
				return apiErr("InvalidSecurityGroupRuleId.NotFound", fmt.Sprintf("The security group rule ID '%s' does not exist", rid))
			}
			drop[rid] = true
		}
		for _, p := range perms {
			want, err := n.rules(sc, g, []ec2api.IpPermission{p}, egress)
			if err != nil {
				return err
			}
			hit := false
			for _, w := range want {
				for _, r := range g.Rules {
					if r.key() == w.key() {
						drop[r.ID], hit = true, true
					}
				}
			}
			if !hit {
				unknown = append(unknown, p)
			}
		}
		g.Rules = slices.DeleteFunc(g.Rules, func(r *ruleRec) bool {
			if drop[r.ID] {
				revoked = append(revoked, r.revoked(g.ID))
				return true
			}
			return false
		})
		return nil
	})
	return revoked, unknown, err
}

// RevokeSecurityGroupIngress removes inbound rules.
func (s *Service) RevokeSecurityGroupIngress(ctx context.Context, in *ec2api.RevokeSecurityGroupIngressInput) (*ec2api.RevokeSecurityGroupIngressOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	perms := in.IpPermissions
	if len(perms) == 0 {
		perms = legacyPermissions(in.IpProtocol, in.FromPort, in.ToPort, in.CidrIp, in.SourceSecurityGroupName, in.SourceSecurityGroupOwnerId)
	}
	revoked, unknown, err := s.revoke(ctx, in.GroupId, in.GroupName, perms, in.SecurityGroupRuleIds, false)
	if err != nil {
		return nil, err
	}
	return &ec2api.RevokeSecurityGroupIngressOutput{Return: boolp(true), RevokedSecurityGroupRules: revoked, UnknownIpPermissions: unknown}, nil
}

// RevokeSecurityGroupEgress removes outbound rules.
func (s *Service) RevokeSecurityGroupEgress(ctx context.Context, in *ec2api.RevokeSecurityGroupEgressInput) (*ec2api.RevokeSecurityGroupEgressOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	perms := in.IpPermissions
	if len(perms) == 0 {
		perms = legacyPermissions(in.IpProtocol, in.FromPort, in.ToPort, in.CidrIp, in.SourceSecurityGroupName, in.SourceSecurityGroupOwnerId)
	}
	revoked, unknown, err := s.revoke(ctx, in.GroupId, nil, perms, in.SecurityGroupRuleIds, true)
	if err != nil {
		return nil, err
	}
	return &ec2api.RevokeSecurityGroupEgressOutput{Return: boolp(true), RevokedSecurityGroupRules: revoked, UnknownIpPermissions: unknown}, nil
}

// DescribeSecurityGroupRules lists rules by id and by filters group-id
// and security-group-rule-id.
func (s *Service) DescribeSecurityGroupRules(ctx context.Context, in *ec2api.DescribeSecurityGroupRulesInput) (*ec2api.DescribeSecurityGroupRulesOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	sc := scopeOf(ctx)
	n, err := s.view(ctx, sc)
	if err != nil {
		return nil, err
	}
	for _, rid := range in.SecurityGroupRuleIds {
		found := false
		for _, g := range n.Groups {
			found = found || slices.ContainsFunc(g.Rules, func(r *ruleRec) bool { return r.ID == rid })
		}
		if !found {
			return nil, apiErr("InvalidSecurityGroupRuleId.NotFound", fmt.Sprintf("The security group rule ID '%s' does not exist", rid))
		}
	}
	out := &ec2api.DescribeSecurityGroupRulesOutput{SecurityGroupRules: []ec2api.SecurityGroupRule{}}
	for _, g := range n.Groups {
		for _, r := range g.Rules {
			if len(in.SecurityGroupRuleIds) > 0 && !slices.Contains(in.SecurityGroupRuleIds, r.ID) {
				continue
			}
			ok, err := matches(in.Filters, func(name string) ([]string, bool) {
				switch name {
				case "group-id":
					return one(g.ID), true
				case "security-group-rule-id":
					return one(r.ID), true
				}
				return tagAttrs(name, nil)
			})
			if err != nil {
				return nil, err
			}
			if ok {
				out.SecurityGroupRules = append(out.SecurityGroupRules, r.wire(sc, g.ID))
			}
		}
	}
	return out, nil
}
