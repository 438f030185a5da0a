package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/secrets/resolve"
)

// resolveEnv builds the environment of the containers to create: what
// ECS injects, the endpoints' variables, the definition's environment and
// its secrets, read once for the whole task. A secret that cannot be read
// fails the task with ECS's ResourceInitializationError.
func (r *runner) resolveEnv(ctx context.Context, t *ecs.AssignedTask, defs []ecsapi.ContainerDefinition) error {
	if r.env == nil {
		r.env = map[string]map[string]string{}
		r.regAuth = map[string]*runtime.RegistryAuth{}
	}
	var todo []ecsapi.ContainerDefinition
	var refs []string
	for _, d := range defs {
		if _, done := r.env[deref(d.Name)]; done {
			continue
		}
		if len(d.EnvironmentFiles) > 0 {
			return r.failStart(ctx, fmt.Sprintf("ResourceInitializationError: failed to download env files: container %s: "+
				"environment files are read from Amazon S3, which Berth does not provide", deref(d.Name)), &d)
		}
		todo = append(todo, d)
		for _, s := range d.Secrets {
			refs = append(refs, deref(s.ValueFrom))
		}
		if rc := d.RepositoryCredentials; rc != nil && deref(rc.CredentialsParameter) != "" {
			refs = append(refs, deref(rc.CredentialsParameter))
		}
	}
	var values []string
	if len(refs) > 0 {
		if r.a.o.Secrets == nil {
			return r.failStart(ctx, "ResourceInitializationError: unable to pull secrets or registry auth: this agent has no secrets store", nil)
		}
		var err error
		values, err = r.a.o.Secrets.ResolveAll(ctx, t.Account, t.Region, refs)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return r.failStart(ctx, secretErrorText(err), nil)
		}
	}
	i := 0
	for _, d := range todo {
		env := map[string]string{
			"AWS_EXECUTION_ENV":  executionEnv(t),
			"AWS_REGION":         t.Region,
			"AWS_DEFAULT_REGION": t.Region,
		}
		for k, v := range r.endpointEnv[deref(d.Name)] {
			env[k] = v
		}
		for _, kv := range d.Environment {
			env[deref(kv.Name)] = deref(kv.Value)
		}
		for _, s := range d.Secrets {
			env[deref(s.Name)] = values[i]
			i++
		}
		if rc := d.RepositoryCredentials; rc != nil && deref(rc.CredentialsParameter) != "" {
			var cred struct{ Username, Password string }
			if err := json.Unmarshal([]byte(values[i]), &cred); err != nil || cred.Username == "" {
				return r.failStart(ctx, "ResourceInitializationError: unable to pull secrets or registry auth: the repository credentials secret "+
					deref(rc.CredentialsParameter)+` must be JSON with "username" and "password"`, &d)
			}
			r.regAuth[deref(d.Name)] = &runtime.RegistryAuth{Username: cred.Username, Password: cred.Password}
			i++
		}
		r.env[deref(d.Name)] = env
	}
	return nil
}

func executionEnv(t *ecs.AssignedTask) string {
	if t.LaunchType == string(ecsapi.LaunchTypeFargate) {
		return "AWS_ECS_FARGATE"
	}
	return "AWS_ECS_EC2"
}

// secretErrorText is the stopped reason of a task whose secrets could not
// be read, worded as ECS words it.
func secretErrorText(err error) string {
	const prefix = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
	var re *resolve.Error
	if !errors.As(err, &re) {
		return prefix + err.Error()
	}
	detail := re.Message
	if re.Code != "" {
		detail = re.Code + ": " + re.Message
	}
	if re.Service == resolve.SSM {
		if errors.Is(err, resolve.ErrNotFound) {
			return prefix + "unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid ssm parameters: " + re.ValueFrom
		}
		return prefix + "unable to retrieve secrets from ssm: service call has been retried 1 time(s): " + detail
	}
	return prefix + "unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret " +
		re.ValueFrom + " from secrets manager: " + detail
}

// pullImages pulls the images of the containers to create, all at once,
// and notes when the last pull ended (pullStoppedAt). A failed pull fails
// the task with CannotPullContainerError.
func (r *runner) pullImages(ctx context.Context, t *ecs.AssignedTask, defs []ecsapi.ContainerDefinition) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed := map[string]string{}
	var todo []ecsapi.ContainerDefinition
	for _, d := range defs {
		if _, done := r.images[deref(d.Name)]; !done {
			todo = append(todo, d)
		}
	}
	for _, d := range todo {
		name := deref(d.Name)
		auth := r.regAuth[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			info, err := r.a.pullFor(ctx, t, deref(d.Image), auth)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if ctx.Err() == nil {
					failed[name] = "CannotPullContainerError: " + pullMessage(err)
				}
				return
			}
			r.images[name] = info
		}()
	}
	wg.Wait()
	for _, d := range defs {
		if why, bad := failed[deref(d.Name)]; bad {
			_ = r.failStart(ctx, why, &d)
		}
	}
	if len(failed) == 0 && ctx.Err() == nil {
		r.pullStoppedAt = r.a.now()
	}
}

// pullFor gets image for a task, with the credentials its registry wants
// (repository credentials when the definition has them) and the agent's
// pull behaviour. The ImageInfo's Ref is what to create the container from.
func (a *Agent) pullFor(ctx context.Context, t *ecs.AssignedTask, image string, creds *runtime.RegistryAuth) (runtime.ImageInfo, error) {
	if image == "" {
		return runtime.ImageInfo{}, errors.New("the container definition has no image")
	}
	ref, auth := image, creds
	if a.o.Registry != nil {
		var err error
		var regAuth *runtime.RegistryAuth
		if ref, regAuth, err = a.o.Registry.Resolve(ctx, t.Account, t.Region, image); err != nil {
			return runtime.ImageInfo{}, err
		}
		if auth == nil {
			auth = regAuth
		}
	}
	if a.o.PullBehavior == PullOnce || a.o.PullBehavior == PullPreferCached {
		if info, err := a.rt.InspectImage(ctx, ref); err == nil {
			info.Ref = ref
			return info, nil
		}
	}
	key := ref + "\x00" + t.Account + "\x00" + t.Region
	if auth != nil {
		key += "\x00" + auth.Username + "\x00" + auth.ServerAddress
	}
	info, err := a.pulls.do(ctx, key, a.now(), func(ctx context.Context) (runtime.ImageInfo, error) {
		return a.rt.PullImage(ctx, ref, auth)
	})
	if err != nil && a.o.PullBehavior == PullDefault && ctx.Err() == nil {
		// ECS's default behaviour: a failed pull falls back on the image
		// the host already has.
		if cached, ierr := a.rt.InspectImage(ctx, ref); ierr == nil {
			a.log.Info("agent: pull failed; using the cached image", "image", ref, "err", err)
			cached.Ref = ref
			return cached, nil
		}
	}
	if err != nil {
		return runtime.ImageInfo{}, err
	}
	info.Ref = ref
	return info, nil
}

// pullMessage is the engine's own words for a failed pull, as ECS puts
// them after "CannotPullContainerError: ".
func pullMessage(err error) string {
	var pe *runtime.PullError
	if errors.As(err, &pe) && pe.Err != nil {
		msg := pe.Err.Error()
		if !strings.HasPrefix(msg, "Error response from daemon") && !strings.Contains(msg, "invalid reference") {
			msg = "Error response from daemon: " + msg
		}
		return msg
	}
	return engineMessage(err)
}

// engineMessage is an engine error without Berth's own prefixes.
func engineMessage(err error) string {
	msg := err.Error()
	for strings.HasPrefix(msg, "docker: ") {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err, msg = u, u.Error()
	}
	return msg
}
