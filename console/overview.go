package console

import (
	cdapi "github.com/berth-dev/berth/api/codedeploy"
	ecsapi "github.com/berth-dev/berth/api/ecs"
	logsapi "github.com/berth-dev/berth/api/logs"
)

type overviewCard struct {
	Name  string
	Path  string
	Count int
	Err   string
}

// overview counts what each service holds, with the list calls a client
// would make.
func (c *Console) overview(req *request) error {
	var cards []overviewCard
	add := func(name, path string, count func() (int, error)) {
		card := overviewCard{Name: name, Path: path}
		n, err := count()
		if err != nil {
			card.Err = errText(err)
		}
		card.Count = n
		cards = append(cards, card)
	}
	if c.o.ECS != nil {
		var clusters []ecsapi.Cluster
		add("ECS clusters", "ecs/", func() (int, error) {
			arns, err := c.listClusters(req)
			if err != nil {
				return 0, err
			}
			clusters, err = c.describeClusters(req, arns)
			return len(arns), err
		})
		sum := func(f func(ecsapi.Cluster) *int32) func() (int, error) {
			return func() (int, error) {
				n := 0
				for _, cl := range clusters {
					if p := f(cl); p != nil {
						n += int(*p)
					}
				}
				return n, nil
			}
		}
		add("ECS services", "ecs/", sum(func(cl ecsapi.Cluster) *int32 { return cl.ActiveServicesCount }))
		add("ECS running tasks", "ecs/", sum(func(cl ecsapi.Cluster) *int32 { return cl.RunningTasksCount }))
	}
	if c.o.ECR != nil {
		add("ECR repositories", "ecr/", func() (int, error) {
			repos, err := c.listRepositories(req, nil)
			return len(repos), err
		})
	}
	if c.o.EKS != nil {
		add("EKS clusters", "eks/", func() (int, error) {
			names, err := c.listEKSClusters(req)
			return len(names), err
		})
	}
	if c.o.ELB != nil {
		add("Load balancers", "elb/", func() (int, error) {
			lbs, err := c.loadBalancers(req, nil)
			return len(lbs), err
		})
	}
	if c.o.Logs != nil {
		add("Log groups", "logs/", func() (int, error) {
			n := 0
			var token *string
			for n < maxItems {
				res, err := c.o.Logs.DescribeLogGroups(req.ctx, &logsapi.DescribeLogGroupsInput{NextToken: token})
				if err != nil {
					return n, err
				}
				n += len(res.LogGroups)
				if token = res.NextToken; token == nil {
					break
				}
			}
			return n, nil
		})
	}
	if c.o.CodeDeploy != nil {
		add("CodeDeploy applications", "codedeploy/", func() (int, error) {
			n := 0
			var token *string
			for n < maxItems {
				res, err := c.o.CodeDeploy.ListApplications(req.ctx, &cdapi.ListApplicationsInput{NextToken: token})
				if err != nil {
					return n, err
				}
				n += len(res.Applications)
				if token = res.NextToken; token == nil {
					break
				}
			}
			return n, nil
		})
	}
	req.page.Title = "Overview"
	return c.render(req, "overview", cards)
}
