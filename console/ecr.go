package console

import (
	"cmp"
	"slices"
	"strings"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/awsapi"
)

func (c *Console) needECR() error {
	if c.o.ECR == nil {
		return errNotFound{"ECR"}
	}
	return nil
}

func (c *Console) listRepositories(req *request, names []string) ([]ecrapi.Repository, error) {
	var out []ecrapi.Repository
	var token *string
	for len(out) < maxItems {
		in := &ecrapi.DescribeRepositoriesInput{RepositoryNames: names, NextToken: token}
		if err := validated(in); err != nil {
			return nil, err
		}
		res, err := c.o.ECR.DescribeRepositories(req.ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Repositories...)
		if token = res.NextToken; token == nil {
			break
		}
	}
	return out, nil
}

func (c *Console) ecrRepositories(req *request) error {
	if err := c.needECR(); err != nil {
		return err
	}
	repos, err := c.listRepositories(req, nil)
	if err != nil {
		return err
	}
	slices.SortFunc(repos, func(a, b ecrapi.Repository) int {
		return strings.Compare(show(a.RepositoryName), show(b.RepositoryName))
	})
	req.page.Title = "ECR repositories"
	req.page.crumb("ECR repositories", "")
	return c.render(req, "ecr_repositories", repos)
}

// repository finds the repository the name parameter names.
func (c *Console) repository(req *request, param string) (ecrapi.Repository, error) {
	name := req.r.URL.Query().Get(param)
	if name == "" {
		return ecrapi.Repository{}, badRequest("the %s parameter is required", param)
	}
	repos, err := c.listRepositories(req, []string{name})
	if err != nil {
		return ecrapi.Repository{}, err
	}
	if len(repos) == 0 {
		return ecrapi.Repository{}, errNotFound{"repository " + name}
	}
	return repos[0], nil
}

func (c *Console) images(req *request, repo string, ids []ecrapi.ImageIdentifier) ([]ecrapi.ImageDetail, error) {
	var out []ecrapi.ImageDetail
	var token *string
	for len(out) < maxItems {
		in := &ecrapi.DescribeImagesInput{RepositoryName: &repo, ImageIds: ids, NextToken: token}
		if err := validated(in); err != nil {
			return nil, err
		}
		res, err := c.o.ECR.DescribeImages(req.ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, res.ImageDetails...)
		if token = res.NextToken; token == nil {
			break
		}
	}
	return out, nil
}

type ecrRepositoryData struct {
	Repository ecrapi.Repository
	Images     []ecrapi.ImageDetail
}

func (c *Console) ecrRepository(req *request) error {
	if err := c.needECR(); err != nil {
		return err
	}
	repo, err := c.repository(req, "name")
	if err != nil {
		return err
	}
	imgs, err := c.images(req, *repo.RepositoryName, nil)
	if err != nil {
		return err
	}
	// Newest first, as the AWS console lists them.
	slices.SortFunc(imgs, func(a, b ecrapi.ImageDetail) int {
		return cmp.Compare(pushedAt(b), pushedAt(a))
	})
	req.page.Title = "Repository " + *repo.RepositoryName
	req.page.crumb("ECR repositories", req.page.Link("ecr/"))
	req.page.crumb(*repo.RepositoryName, "")
	return c.render(req, "ecr_repository", ecrRepositoryData{Repository: repo, Images: imgs})
}

func pushedAt(d ecrapi.ImageDetail) int64 {
	if d.ImagePushedAt == nil {
		return 0
	}
	return d.ImagePushedAt.UnixNano()
}

type ecrImageData struct {
	Repository ecrapi.Repository
	Image      ecrapi.ImageDetail
	Scan       *ecrapi.DescribeImageScanFindingsOutput
	Findings   []ecrapi.ImageScanFinding
	Enhanced   []ecrapi.EnhancedImageScanFinding
	Severities []severityCount
	ScanNote   string
}

type severityCount struct {
	Severity string
	Count    int32
}

// severityOrder ranks ECR's finding severities, worst first.
var severityOrder = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED", "UNDEFINED"}

// maxFindings bounds the findings an image page collects.
const maxFindings = 2000

func (c *Console) ecrImage(req *request) error {
	if err := c.needECR(); err != nil {
		return err
	}
	repo, err := c.repository(req, "repository")
	if err != nil {
		return err
	}
	q := req.r.URL.Query()
	id := ecrapi.ImageIdentifier{}
	if d := q.Get("digest"); d != "" {
		id.ImageDigest = &d
	} else if t := q.Get("tag"); t != "" {
		id.ImageTag = &t
	} else {
		return badRequest("the digest or tag parameter is required")
	}
	imgs, err := c.images(req, *repo.RepositoryName, []ecrapi.ImageIdentifier{id})
	if err != nil {
		return err
	}
	if len(imgs) == 0 {
		return errNotFound{"image " + show(id.ImageDigest) + show(id.ImageTag) + " in repository " + *repo.RepositoryName}
	}
	d := ecrImageData{Repository: repo, Image: imgs[0]}
	digest := *d.Image.ImageDigest
	var token *string
	for len(d.Findings)+len(d.Enhanced) < maxFindings {
		res, err := c.o.ECR.DescribeImageScanFindings(req.ctx, &ecrapi.DescribeImageScanFindingsInput{
			RepositoryName: repo.RepositoryName, ImageId: &ecrapi.ImageIdentifier{ImageDigest: &digest}, NextToken: token})
		if err != nil {
			if ae := awsapi.AsError(err); ae != nil && ae.Code == "ScanNotFoundException" {
				d.ScanNote = "The image has not been scanned."
				break
			}
			return err
		}
		if d.Scan == nil {
			d.Scan = res
		}
		if f := res.ImageScanFindings; f != nil {
			d.Findings = append(d.Findings, f.Findings...)
			d.Enhanced = append(d.Enhanced, f.EnhancedFindings...)
		}
		if token = res.NextToken; token == nil {
			break
		}
	}
	if d.Scan != nil && d.Scan.ImageScanFindings != nil {
		counts := d.Scan.ImageScanFindings.FindingSeverityCounts
		for _, s := range severityOrder {
			if n, ok := counts[s]; ok {
				d.Severities = append(d.Severities, severityCount{s, n})
			}
		}
	}
	sevRank := func(s string) int {
		if i := slices.Index(severityOrder, s); i >= 0 {
			return i
		}
		return len(severityOrder)
	}
	slices.SortStableFunc(d.Findings, func(a, b ecrapi.ImageScanFinding) int {
		return cmp.Compare(sevRank(show(a.Severity)), sevRank(show(b.Severity)))
	})
	slices.SortStableFunc(d.Enhanced, func(a, b ecrapi.EnhancedImageScanFinding) int {
		return cmp.Compare(sevRank(show(a.Severity)), sevRank(show(b.Severity)))
	})
	req.page.Title = "Image " + digest
	req.page.crumb("ECR repositories", req.page.Link("ecr/"))
	req.page.crumb(*repo.RepositoryName, req.page.Link("ecr/repository", "name", *repo.RepositoryName))
	req.page.crumb(shortDigest(digest), "")
	return c.render(req, "ecr_image", d)
}

func shortDigest(d string) string {
	if _, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return d[:len(d)-len(hex)] + hex[:12]
	}
	return d
}
