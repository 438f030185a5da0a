package ec2

import (
	"context"
	"slices"
	"strings"

	ec2api "github.com/berth-dev/berth/api/ec2"
)

// zone is one availability zone of a region.
type zone struct{ name, id string }

// zoneLetters are the availability zones every region has in Berth.
var zoneLetters = []string{"a", "b", "c"}

// zones lists the availability zones of region: <region>a, b and c, with
// ids in AWS's form (use1-az1 for us-east-1a).
func zones(region string) []zone {
	code := regionCode(region)
	out := make([]zone, len(zoneLetters))
	for i, l := range zoneLetters {
		out[i] = zone{name: region + l, id: code + "-az" + string(rune('1'+i))}
	}
	return out
}

func zoneByName(region, name string) (zone, bool) {
	for _, z := range zones(region) {
		if z.name == name {
			return z, true
		}
	}
	return zone{}, false
}

func zoneByID(region, id string) (zone, bool) {
	for _, z := range zones(region) {
		if z.id == id {
			return z, true
		}
	}
	return zone{}, false
}

// compass abbreviates the direction words of region names.
var compass = map[string]string{
	"north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
	"northeast": "ne", "southeast": "se", "northwest": "nw", "southwest": "sw",
}

// regionCode is the short form of a region in zone ids: us-east-1 is
// use1, ap-southeast-2 apse2, eu-central-1 euc1.
func regionCode(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) < 3 {
		return region
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for _, p := range parts[1 : len(parts)-1] {
		if c, ok := compass[p]; ok {
			b.WriteString(c)
		} else if p != "" {
			b.WriteString(p[:1])
		}
	}
	b.WriteString(parts[len(parts)-1])
	return b.String()
}

// DescribeAvailabilityZones lists the three zones of the caller's region.
func (s *Service) DescribeAvailabilityZones(ctx context.Context, in *ec2api.DescribeAvailabilityZonesInput) (*ec2api.DescribeAvailabilityZonesOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	region := scopeOf(ctx).region
	for _, name := range in.ZoneNames {
		if _, ok := zoneByName(region, name); !ok {
			return nil, invalidParam("The zone '%s' does not exist.", name)
		}
	}
	for _, id := range in.ZoneIds {
		if _, ok := zoneByID(region, id); !ok {
			return nil, invalidParam("The zone ID '%s' does not exist.", id)
		}
	}
	out := &ec2api.DescribeAvailabilityZonesOutput{AvailabilityZones: []ec2api.AvailabilityZone{}}
	for _, z := range zones(region) {
		if len(in.ZoneNames) > 0 && !slices.Contains(in.ZoneNames, z.name) || len(in.ZoneIds) > 0 && !slices.Contains(in.ZoneIds, z.id) {
			continue
		}
		ok, err := matches(in.Filters, func(name string) ([]string, bool) {
			switch name {
			case "zone-name":
				return one(z.name), true
			case "zone-id":
				return one(z.id), true
			case "region-name":
				return one(region), true
			case "state":
				return one("available"), true
			case "zone-type":
				return one("availability-zone"), true
			case "group-name", "network-border-group":
				return one(region), true
			case "opt-in-status":
				return one("opt-in-not-required"), true
			case "message":
				return nil, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		state, opt := ec2api.AvailabilityZoneStateAvailable, ec2api.AvailabilityZoneOptInStatusOptInNotRequired
		out.AvailabilityZones = append(out.AvailabilityZones, ec2api.AvailabilityZone{
			ZoneName: str(z.name), ZoneId: str(z.id), RegionName: str(region), State: &state, OptInStatus: &opt,
			GroupName: str(region), NetworkBorderGroup: str(region), ZoneType: str("availability-zone"),
			Messages: []ec2api.AvailabilityZoneMessage{},
		})
	}
	return out, nil
}

// regions are the commercial regions DescribeRegions lists (the ones
// that need no opt-in); the caller's region is added when it is another.
var regions = []string{
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
	"ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3",
	"sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

// DescribeRegions lists the regions; Berth serves every region, so all are
// enabled.
func (s *Service) DescribeRegions(ctx context.Context, in *ec2api.DescribeRegionsInput) (*ec2api.DescribeRegionsOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	all := slices.Clone(regions)
	if own := scopeOf(ctx).region; own != "" && !slices.Contains(all, own) {
		all = append(all, own)
		slices.Sort(all)
	}
	for _, name := range in.RegionNames {
		if !slices.Contains(all, name) {
			return nil, invalidParam("Invalid region: %s", name)
		}
	}
	out := &ec2api.DescribeRegionsOutput{Regions: []ec2api.Region{}}
	for _, r := range all {
		if len(in.RegionNames) > 0 && !slices.Contains(in.RegionNames, r) {
			continue
		}
		endpoint := "ec2." + r + ".amazonaws.com"
		ok, err := matches(in.Filters, func(name string) ([]string, bool) {
			switch name {
			case "region-name":
				return one(r), true
			case "endpoint":
				return one(endpoint), true
			case "opt-in-status":
				return one("opt-in-not-required"), true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out.Regions = append(out.Regions, ec2api.Region{RegionName: str(r), Endpoint: str(endpoint), OptInStatus: str("opt-in-not-required")})
		}
	}
	return out, nil
}
