package codedeploy

import (
	"context"
	"errors"
	"sort"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

func requireAppName(name *string) (string, error) {
	if name == nil || *name == "" {
		return "", cdapi.NewApplicationNameRequiredException("The application name must be specified (applicationName).")
	}
	if len(*name) > 100 {
		return "", cdapi.NewInvalidApplicationNameException("The application name %q is longer than 100 characters.", *name)
	}
	return *name, nil
}

func appNotFound(name string) error {
	return cdapi.NewApplicationDoesNotExistException("No application found for name: %s", name)
}

// getApp reads an application that must exist.
func getApp(tx store.Tx, sc scope, name string) (*appRecord, error) {
	app, err := getDoc[appRecord](tx, kindApplication, sc, name)
	if err != nil {
		return nil, err
	}
	if app == nil {
		return nil, appNotFound(name)
	}
	return app, nil
}

func (a *appRecord) info() cdapi.ApplicationInfo {
	cp := cdapi.ComputePlatform(a.ComputePlatform)
	return cdapi.ApplicationInfo{ApplicationId: new(a.ID), ApplicationName: new(a.Name), CreateTime: awsapi.Time(a.CreateTime),
		LinkedToGitHub: new(false), ComputePlatform: &cp}
}

// CreateApplication creates an application; ECS, Server and Lambda
// applications are kept, only ECS ones can deploy in Berth.
func (s *Service) CreateApplication(ctx context.Context, in *cdapi.CreateApplicationInput) (*cdapi.CreateApplicationOutput, error) {
	name, err := requireAppName(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	platform := cdapi.ComputePlatformServer
	if in.ComputePlatform != nil {
		platform = *in.ComputePlatform
	}
	sc := callerOf(ctx)
	app := appRecord{ID: newUUID(), Name: name, ComputePlatform: string(platform), CreateTime: s.now().UTC(), Tags: toTags(in.Tags)}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		err := createDoc(tx, kindApplication, sc, name, app, app.CreateTime)
		if errors.Is(err, store.ErrConflict) {
			return cdapi.NewApplicationAlreadyExistsException("The application %s already exists in this account and region.", name)
		}
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	return &cdapi.CreateApplicationOutput{ApplicationId: new(app.ID)}, nil
}

func (s *Service) GetApplication(ctx context.Context, in *cdapi.GetApplicationInput) (*cdapi.GetApplicationOutput, error) {
	name, err := requireAppName(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	var out cdapi.GetApplicationOutput
	err = s.st.View(ctx, func(tx store.Tx) error {
		app, err := getApp(tx, callerOf(ctx), name)
		if err != nil {
			return err
		}
		info := app.info()
		out.Application = &info
		return nil
	})
	return &out, internal(err)
}

func (s *Service) BatchGetApplications(ctx context.Context, in *cdapi.BatchGetApplicationsInput) (*cdapi.BatchGetApplicationsOutput, error) {
	if len(in.ApplicationNames) == 0 {
		return nil, cdapi.NewApplicationNameRequiredException("At least one application name must be specified (applicationNames).")
	}
	if len(in.ApplicationNames) > 100 {
		return nil, cdapi.NewBatchLimitExceededException("The maximum number of names or IDs allowed for this request (100) was exceeded.")
	}
	out := &cdapi.BatchGetApplicationsOutput{ApplicationsInfo: []cdapi.ApplicationInfo{}}
	err := s.st.View(ctx, func(tx store.Tx) error {
		for _, name := range in.ApplicationNames {
			app, err := getApp(tx, callerOf(ctx), name)
			if err != nil {
				return err
			}
			out.ApplicationsInfo = append(out.ApplicationsInfo, app.info())
		}
		return nil
	})
	return out, internal(err)
}

// listPageSize is how many names a List call returns before a nextToken,
// as CodeDeploy does.
const listPageSize = 100

// page cuts a sorted list of names at the token (the last name of the
// previous page).
func page(names []string, token *string) ([]string, *string) {
	start := 0
	if token != nil && *token != "" {
		// The token is the last name already returned, so a name deleted
		// since does not break paging.
		start = sort.Search(len(names), func(i int) bool { return names[i] > *token })
	}
	end := min(start+listPageSize, len(names))
	var next *string
	if end < len(names) {
		next = new(names[end-1])
	}
	return names[start:end], next
}

func (s *Service) ListApplications(ctx context.Context, in *cdapi.ListApplicationsInput) (*cdapi.ListApplicationsOutput, error) {
	var names []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		apps, _, err := listDocs[appRecord](tx, kindApplication, callerOf(ctx), "")
		for _, a := range apps {
			names = append(names, a.Name)
		}
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	sort.Strings(names)
	p, next := page(names, in.NextToken)
	return &cdapi.ListApplicationsOutput{Applications: append([]string{}, p...), NextToken: next}, nil
}

func (s *Service) UpdateApplication(ctx context.Context, in *cdapi.UpdateApplicationInput) (*cdapi.UpdateApplicationOutput, error) {
	name, err := requireAppName(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	if in.NewApplicationName == nil || *in.NewApplicationName == name {
		// Nothing to rename; CodeDeploy still checks the application.
		err := s.st.View(ctx, func(tx store.Tx) error {
			_, err := getApp(tx, callerOf(ctx), name)
			return err
		})
		return &cdapi.UpdateApplicationOutput{}, internal(err)
	}
	newName, err := requireAppName(in.NewApplicationName)
	if err != nil {
		return nil, err
	}
	sc := callerOf(ctx)
	err = s.st.Update(ctx, func(tx store.Tx) error {
		app, err := getApp(tx, sc, name)
		if err != nil {
			return err
		}
		taken, err := getDoc[appRecord](tx, kindApplication, sc, newName)
		if err != nil {
			return err
		}
		if taken != nil {
			return cdapi.NewApplicationAlreadyExistsException("The application %s already exists in this account and region.", newName)
		}
		app.Name = newName
		if err := deleteDoc(tx, kindApplication, sc, name); err != nil {
			return err
		}
		return putDoc(tx, kindApplication, sc, newName, app, s.now())
	})
	return &cdapi.UpdateApplicationOutput{}, internal(err)
}

// DeleteApplication deletes the application and its deployment groups;
// deleting one that does not exist succeeds, as in CodeDeploy.
// Deployments stay readable; an unfinished one fails with
// APPLICATION_MISSING on the engine's next look.
func (s *Service) DeleteApplication(ctx context.Context, in *cdapi.DeleteApplicationInput) (*cdapi.DeleteApplicationOutput, error) {
	name, err := requireAppName(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	sc := callerOf(ctx)
	err = s.st.Update(ctx, func(tx store.Tx) error {
		app, err := getDoc[appRecord](tx, kindApplication, sc, name)
		if err != nil || app == nil {
			return err
		}
		_, ids, err := listDocs[groupRecord](tx, kindGroup, sc, app.ID+"/")
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := deleteDoc(tx, kindGroup, sc, id); err != nil {
				return err
			}
		}
		return deleteDoc(tx, kindApplication, sc, name)
	})
	s.wake()
	return &cdapi.DeleteApplicationOutput{}, internal(err)
}
