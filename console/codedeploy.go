package console

import (
	"slices"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
)

func (c *Console) needCodeDeploy() error {
	if c.o.CodeDeploy == nil {
		return errNotFound{"CodeDeploy"}
	}
	return nil
}

func (c *Console) codeDeployApplications(req *request) error {
	if err := c.needCodeDeploy(); err != nil {
		return err
	}
	var apps []string
	var token *string
	for len(apps) < maxItems {
		res, err := c.o.CodeDeploy.ListApplications(req.ctx, &cdapi.ListApplicationsInput{NextToken: token})
		if err != nil {
			return err
		}
		apps = append(apps, res.Applications...)
		if token = res.NextToken; token == nil {
			break
		}
	}
	slices.Sort(apps)
	req.page.Title = "CodeDeploy applications"
	req.page.crumb("CodeDeploy applications", "")
	return c.render(req, "codedeploy_apps", apps)
}

type codeDeployAppData struct {
	Name        string
	Groups      []string
	Deployments []cdapi.DeploymentInfo
}

// maxDeployments is how many of an application's latest deployments its
// page shows (one BatchGetDeployments).
const maxDeployments = 25

func (c *Console) codeDeployApplication(req *request) error {
	if err := c.needCodeDeploy(); err != nil {
		return err
	}
	name := req.r.URL.Query().Get("name")
	if name == "" {
		return badRequest("the name parameter is required")
	}
	in := &cdapi.GetApplicationInput{ApplicationName: &name}
	if err := validated(in); err != nil {
		return err
	}
	if _, err := c.o.CodeDeploy.GetApplication(req.ctx, in); err != nil {
		return err
	}
	d := codeDeployAppData{Name: name}
	gs, err := c.o.CodeDeploy.ListDeploymentGroups(req.ctx, &cdapi.ListDeploymentGroupsInput{ApplicationName: &name})
	if err != nil {
		return err
	}
	d.Groups = gs.DeploymentGroups
	ds, err := c.o.CodeDeploy.ListDeployments(req.ctx, &cdapi.ListDeploymentsInput{ApplicationName: &name})
	if err != nil {
		return err
	}
	if ids := ds.Deployments[:min(len(ds.Deployments), maxDeployments)]; len(ids) > 0 {
		info, err := c.o.CodeDeploy.BatchGetDeployments(req.ctx, &cdapi.BatchGetDeploymentsInput{DeploymentIds: ids})
		if err != nil {
			return err
		}
		d.Deployments = info.DeploymentsInfo
	}
	req.page.Title = "CodeDeploy application " + name
	req.page.crumb("CodeDeploy applications", req.page.Link("codedeploy/"))
	req.page.crumb(name, "")
	return c.render(req, "codedeploy_app", d)
}
