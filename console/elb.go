package console

import (
	elbv2api "github.com/berth-dev/berth/api/elbv2"
)

func (c *Console) needELB() error {
	if c.o.ELB == nil {
		return errNotFound{"Elastic Load Balancing"}
	}
	return nil
}

func (c *Console) loadBalancers(req *request, names []string) ([]elbv2api.LoadBalancer, error) {
	var out []elbv2api.LoadBalancer
	var marker *string
	for len(out) < maxItems {
		in := &elbv2api.DescribeLoadBalancersInput{Names: names, Marker: marker}
		if err := validated(in); err != nil {
			return nil, err
		}
		res, err := c.o.ELB.DescribeLoadBalancers(req.ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, res.LoadBalancers...)
		if marker = res.NextMarker; marker == nil {
			break
		}
	}
	return out, nil
}

func (c *Console) elbLoadBalancers(req *request) error {
	if err := c.needELB(); err != nil {
		return err
	}
	lbs, err := c.loadBalancers(req, nil)
	if err != nil {
		return err
	}
	req.page.Title = "Load balancers"
	req.page.crumb("Load balancers", "")
	return c.render(req, "elb_lbs", lbs)
}

type elbData struct {
	LoadBalancer elbv2api.LoadBalancer
	Listeners    []elbv2api.Listener
	TargetGroups []elbTargetGroup
}

type elbTargetGroup struct {
	Group   elbv2api.TargetGroup
	Targets []elbv2api.TargetHealthDescription
	Error   string
}

func (c *Console) elbLoadBalancer(req *request) error {
	if err := c.needELB(); err != nil {
		return err
	}
	name := req.r.URL.Query().Get("name")
	if name == "" {
		return badRequest("the name parameter is required")
	}
	lbs, err := c.loadBalancers(req, []string{name})
	if err != nil {
		return err
	}
	if len(lbs) == 0 {
		return errNotFound{"load balancer " + name}
	}
	d := elbData{LoadBalancer: lbs[0]}
	arn := lbs[0].LoadBalancerArn
	ls, err := c.o.ELB.DescribeListeners(req.ctx, &elbv2api.DescribeListenersInput{LoadBalancerArn: arn})
	if err != nil {
		return err
	}
	d.Listeners = ls.Listeners
	tgs, err := c.o.ELB.DescribeTargetGroups(req.ctx, &elbv2api.DescribeTargetGroupsInput{LoadBalancerArn: arn})
	if err != nil {
		return err
	}
	for _, g := range tgs.TargetGroups {
		tg := elbTargetGroup{Group: g}
		th, err := c.o.ELB.DescribeTargetHealth(req.ctx, &elbv2api.DescribeTargetHealthInput{TargetGroupArn: g.TargetGroupArn})
		if err != nil {
			tg.Error = errText(err)
		} else {
			tg.Targets = th.TargetHealthDescriptions
		}
		d.TargetGroups = append(d.TargetGroups, tg)
	}
	req.page.Title = "Load balancer " + name
	req.page.crumb("Load balancers", req.page.Link("elb/"))
	req.page.crumb(name, "")
	return c.render(req, "elb_lb", d)
}
