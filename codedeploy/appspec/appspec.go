// Package appspec reads the AppSpec file of an Amazon ECS deployment, in
// YAML or JSON, as CodeDeploy does: the one TargetService resource of type
// AWS::ECS::Service with its task definition, the container and port the
// load balancer sends traffic to, optional platform version, network
// configuration and capacity provider strategy, and the lifecycle hooks.
package appspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// AppSpec is a parsed ECS AppSpec file.
type AppSpec struct {
	Version string
	Target  TargetService
	// Hooks maps a lifecycle event (BeforeInstall, AfterInstall,
	// AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic) to
	// the Lambda function named for it.
	Hooks map[string]string
}

// TargetService is Resources[0].TargetService.Properties.
type TargetService struct {
	TaskDefinition           string
	ContainerName            string
	ContainerPort            int32
	PlatformVersion          string
	NetworkConfiguration     *NetworkConfiguration
	CapacityProviderStrategy []CapacityProvider
}

// NetworkConfiguration is the awsvpc configuration of the replacement
// task set.
type NetworkConfiguration struct {
	Subnets        []string
	SecurityGroups []string
	AssignPublicIP string // ENABLED or DISABLED, empty when not given
}

// CapacityProvider is an item of a capacity provider strategy.
type CapacityProvider struct {
	CapacityProvider string
	Base             int32
	Weight           int32
}

// HookEvents are the lifecycle events an ECS AppSpec may name hooks for,
// in the order they run.
var HookEvents = []string{"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"}

// The file's shape. Field names are the AppSpec's own; yaml.v3 reads JSON
// as well, so one set of types serves both formats.
type file struct {
	Version   any                    `yaml:"version"`
	Resources []map[string]resource  `yaml:"Resources"`
	Hooks     []map[string]yaml.Node `yaml:"Hooks"`
}

type resource struct {
	Type       string     `yaml:"Type"`
	Properties properties `yaml:"Properties"`
}

type properties struct {
	TaskDefinition   string `yaml:"TaskDefinition"`
	LoadBalancerInfo *struct {
		ContainerName string    `yaml:"ContainerName"`
		ContainerPort yaml.Node `yaml:"ContainerPort"`
	} `yaml:"LoadBalancerInfo"`
	PlatformVersion      string `yaml:"PlatformVersion"`
	NetworkConfiguration *struct {
		AwsvpcConfiguration *struct {
			Subnets        []string `yaml:"Subnets"`
			SecurityGroups []string `yaml:"SecurityGroups"`
			AssignPublicIP string   `yaml:"AssignPublicIp"`
		} `yaml:"AwsvpcConfiguration"`
	} `yaml:"NetworkConfiguration"`
	CapacityProviderStrategy []struct {
		CapacityProvider string    `yaml:"CapacityProvider"`
		Base             yaml.Node `yaml:"Base"`
		Weight           yaml.Node `yaml:"Weight"`
	} `yaml:"CapacityProviderStrategy"`
}

// Parse reads content, YAML or JSON. Its errors say what is wrong in the
// words of the AppSpec reference, so they can be returned to the caller.
func Parse(content []byte) (*AppSpec, error) {
	if len(bytes.TrimSpace(content)) == 0 {
		return nil, errors.New("the AppSpec file is empty")
	}
	var f file
	trimmed := bytes.TrimSpace(content)
	if trimmed[0] == '{' {
		// JSON is decoded as JSON first so that its syntax errors are
		// reported as such, then re-read through the YAML types.
		var v any
		if err := json.Unmarshal(trimmed, &v); err != nil {
			return nil, fmt.Errorf("the AppSpec file is not valid JSON: %v", err)
		}
	}
	if err := yaml.Unmarshal(content, &f); err != nil {
		return nil, fmt.Errorf("the AppSpec file is not valid YAML or JSON: %v", err)
	}
	spec := &AppSpec{Hooks: map[string]string{}}
	switch v := f.Version.(type) {
	case nil:
		return nil, errors.New("the AppSpec file has no version; use version: 0.0")
	case string:
		spec.Version = v
	case float64:
		spec.Version = strconv.FormatFloat(v, 'f', 1, 64)
	case int:
		spec.Version = strconv.Itoa(v) + ".0"
	default:
		return nil, fmt.Errorf("the AppSpec version %v is not valid; use version: 0.0", v)
	}
	if spec.Version != "0.0" {
		return nil, fmt.Errorf("the AppSpec version %s is not supported; use version: 0.0", spec.Version)
	}
	if len(f.Resources) != 1 {
		return nil, fmt.Errorf("the AppSpec file must list exactly one resource under Resources, found %d", len(f.Resources))
	}
	var res resource
	for name, r := range f.Resources[0] {
		if len(f.Resources[0]) != 1 {
			return nil, errors.New("the resource in the AppSpec file must have one name (TargetService)")
		}
		if name != "TargetService" {
			return nil, fmt.Errorf("the resource in the AppSpec file is named %q; an ECS AppSpec names it TargetService", name)
		}
		res = r
	}
	if res.Type != "AWS::ECS::Service" {
		return nil, fmt.Errorf("TargetService Type is %q; an ECS deployment needs AWS::ECS::Service", res.Type)
	}
	p := res.Properties
	if p.TaskDefinition == "" {
		return nil, errors.New("TargetService Properties must name a TaskDefinition")
	}
	if p.LoadBalancerInfo == nil || p.LoadBalancerInfo.ContainerName == "" {
		return nil, errors.New("TargetService Properties must have LoadBalancerInfo with ContainerName and ContainerPort")
	}
	port, err := intNode(p.LoadBalancerInfo.ContainerPort, "LoadBalancerInfo ContainerPort")
	if err != nil {
		return nil, err
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("LoadBalancerInfo ContainerPort %d is not a port number (1-65535)", port)
	}
	spec.Target = TargetService{
		TaskDefinition:  p.TaskDefinition,
		ContainerName:   p.LoadBalancerInfo.ContainerName,
		ContainerPort:   port,
		PlatformVersion: p.PlatformVersion,
	}
	if nc := p.NetworkConfiguration; nc != nil {
		if nc.AwsvpcConfiguration == nil {
			return nil, errors.New("NetworkConfiguration must have an AwsvpcConfiguration")
		}
		a := nc.AwsvpcConfiguration
		if len(a.Subnets) == 0 {
			return nil, errors.New("AwsvpcConfiguration must list at least one subnet under Subnets")
		}
		switch strings.ToUpper(a.AssignPublicIP) {
		case "", "ENABLED", "DISABLED":
		default:
			return nil, fmt.Errorf("AwsvpcConfiguration AssignPublicIp is %q; use ENABLED or DISABLED", a.AssignPublicIP)
		}
		spec.Target.NetworkConfiguration = &NetworkConfiguration{Subnets: a.Subnets, SecurityGroups: a.SecurityGroups, AssignPublicIP: strings.ToUpper(a.AssignPublicIP)}
	}
	for i, c := range p.CapacityProviderStrategy {
		if c.CapacityProvider == "" {
			return nil, fmt.Errorf("CapacityProviderStrategy item %d must name a CapacityProvider", i+1)
		}
		base, err := optionalInt(c.Base, "CapacityProviderStrategy Base")
		if err != nil {
			return nil, err
		}
		weight, err := optionalInt(c.Weight, "CapacityProviderStrategy Weight")
		if err != nil {
			return nil, err
		}
		spec.Target.CapacityProviderStrategy = append(spec.Target.CapacityProviderStrategy, CapacityProvider{CapacityProvider: c.CapacityProvider, Base: base, Weight: weight})
	}
	for _, h := range f.Hooks {
		for event, node := range h {
			if !isHookEvent(event) {
				return nil, fmt.Errorf("the hook %q is not an ECS lifecycle event; use one of %s", event, strings.Join(HookEvents, ", "))
			}
			if node.Kind != yaml.ScalarNode || node.Value == "" {
				return nil, fmt.Errorf("the hook %s must name a Lambda function", event)
			}
			spec.Hooks[event] = node.Value
		}
	}
	return spec, nil
}

func isHookEvent(name string) bool {
	for _, e := range HookEvents {
		if e == name {
			return true
		}
	}
	return false
}

// intNode reads a number given as a YAML/JSON number or a quoted string.
func intNode(n yaml.Node, what string) (int32, error) {
	if n.Kind == 0 {
		return 0, fmt.Errorf("%s is required", what)
	}
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf("%s must be a number", what)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(n.Value), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a number", what, n.Value)
	}
	return int32(v), nil
}

func optionalInt(n yaml.Node, what string) (int32, error) {
	if n.Kind == 0 {
		return 0, nil
	}
	return intNode(n, what)
}
