package ecs

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

func errNoTaskDef() error { return clientErr("Unable to describe task definition.") }

// lookupTaskDef resolves a task definition reference: family:revision or an
// ARN names one revision in any status, a bare family its latest ACTIVE
// revision. It returns nil when there is none.
func lookupTaskDef(tx store.Tx, sc scope, ref string) (*taskDefRecord, error) {
	r, ok := parseTaskDefRef(sc, ref)
	if !ok {
		return nil, nil
	}
	if r.revision == 0 {
		f, err := getDoc[familyRecord](tx, kindFamily, sc, r.family)
		if err != nil || f == nil || f.LatestActive == 0 {
			return nil, err
		}
		r.revision = f.LatestActive
	}
	return getDoc[taskDefRecord](tx, kindTaskDef, sc, taskDefKey(r.family, r.revision))
}

// RegisterTaskDefinition validates a task definition as AWS does and stores
// it as the next revision of its family.
func (s *Service) RegisterTaskDefinition(ctx context.Context, in *ecsapi.RegisterTaskDefinitionInput) (*ecsapi.RegisterTaskDefinitionOutput, error) {
	sc := scopeOf(ctx)
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	// Work on a deep copy: normalization must not alias the request.
	var norm ecsapi.RegisterTaskDefinitionInput
	if doc, err := json.Marshal(in); err != nil {
		return nil, err
	} else if err := json.Unmarshal(doc, &norm); err != nil {
		return nil, err
	}
	if err := prepareTaskDef(&norm); err != nil {
		return nil, err
	}
	tags := norm.Tags
	norm.Tags = nil
	rec := &taskDefRecord{
		Input:              norm,
		Status:             statusActive,
		Tags:               tags,
		Compatibilities:    compatibilities(&norm),
		RequiresAttributes: requiredAttributes(&norm),
		RegisteredBy:       sc.rootPrincipal(),
	}
	family := deref(norm.Family)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		now := s.clock()
		f, err := getDoc[familyRecord](tx, kindFamily, sc, family)
		if err != nil {
			return err
		}
		if f == nil {
			f = &familyRecord{Name: family}
		}
		f.LastRevision++
		f.LatestActive = f.LastRevision
		f.count(statusActive, 1)
		rec.Revision, rec.RegisteredAt = f.LastRevision, now
		if err := putDoc(tx, kindFamily, sc, family, f, now); err != nil {
			return err
		}
		if err := putDoc(tx, kindScope, global, sc.account+"/"+sc.region, struct{}{}, now); err != nil {
			return err
		}
		return putDoc(tx, kindTaskDef, sc, taskDefKey(family, rec.Revision), rec, now)
	})
	if err != nil {
		return nil, err
	}
	out := taskDefOutput(sc, rec)
	return &ecsapi.RegisterTaskDefinitionOutput{TaskDefinition: &out, Tags: tags}, nil
}

// DescribeTaskDefinition describes a revision (or a family's latest ACTIVE
// one), with its tags when include has TAGS.
func (s *Service) DescribeTaskDefinition(ctx context.Context, in *ecsapi.DescribeTaskDefinitionInput) (*ecsapi.DescribeTaskDefinitionOutput, error) {
	sc := scopeOf(ctx)
	var rec *taskDefRecord
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		rec, err = lookupTaskDef(tx, sc, deref(in.TaskDefinition))
		return err
	})
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, errNoTaskDef()
	}
	out := taskDefOutput(sc, rec)
	res := &ecsapi.DescribeTaskDefinitionOutput{TaskDefinition: &out}
	if slices.Contains(in.Include, ecsapi.TaskDefinitionFieldTags) {
		res.Tags = nonNil(rec.Tags)
	}
	return res, nil
}

// ListTaskDefinitions lists revisions by family prefix and status (default
// ACTIVE), ordered by family and revision, ascending or descending.
func (s *Service) ListTaskDefinitions(ctx context.Context, in *ecsapi.ListTaskDefinitionsInput) (*ecsapi.ListTaskDefinitionsOutput, error) {
	sc := scopeOf(ctx)
	limit, err := pageSize(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	status := string(ecsapi.TaskDefinitionStatusActive)
	if in.Status != nil {
		status = string(*in.Status)
	}
	desc := deref(in.Sort) == ecsapi.SortOrderDesc
	// Unlike ListTaskDefinitionFamilies, familyPrefix here is a whole family
	// name: "web" must not list the revisions of "web-worker".
	prefix := deref(in.FamilyPrefix)
	if prefix != "" {
		prefix = taskDefKey(prefix, 0)[:len(prefix)+1]
	}
	out := &ecsapi.ListTaskDefinitionsOutput{TaskDefinitionArns: []string{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.TaskDefinitionArns, out.NextToken = out.TaskDefinitionArns[:0], nil
		if !desc {
			var last string
			return listDocs(tx, kindTaskDef, sc, prefix, after, func(key string, r *taskDefRecord) (bool, error) {
				if r.Status != status {
					return true, nil
				}
				if len(out.TaskDefinitionArns) == limit {
					out.NextToken = encodeToken(last)
					return false, nil
				}
				out.TaskDefinitionArns = append(out.TaskDefinitionArns, sc.taskDefARN(r.family(), r.Revision))
				last = key
				return true, nil
			})
		}
		// The store lists in ascending key order only: collect the keys
		// that match, then page through them from the end.
		type item struct{ key, arn string }
		var all []item
		err := listDocs(tx, kindTaskDef, sc, prefix, "", func(key string, r *taskDefRecord) (bool, error) {
			if r.Status == status && (after == "" || key < after) {
				all = append(all, item{key, sc.taskDefARN(r.family(), r.Revision)})
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for i := len(all) - 1; i >= 0; i-- {
			if len(out.TaskDefinitionArns) == limit {
				out.NextToken = encodeToken(all[i+1].key)
				break
			}
			out.TaskDefinitionArns = append(out.TaskDefinitionArns, all[i].arn)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListTaskDefinitionFamilies lists families: ACTIVE (default) ones have an
// ACTIVE revision, INACTIVE ones have revisions but none ACTIVE; families
// whose revisions were all deleted are not listed.
func (s *Service) ListTaskDefinitionFamilies(ctx context.Context, in *ecsapi.ListTaskDefinitionFamiliesInput) (*ecsapi.ListTaskDefinitionFamiliesOutput, error) {
	sc := scopeOf(ctx)
	limit, err := pageSize(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	status := ecsapi.TaskDefinitionFamilyStatusActive
	if in.Status != nil {
		status = *in.Status
	}
	out := &ecsapi.ListTaskDefinitionFamiliesOutput{Families: []string{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.Families, out.NextToken = out.Families[:0], nil
		return listDocs(tx, kindFamily, sc, deref(in.FamilyPrefix), after, func(_ string, f *familyRecord) (bool, error) {
			var match bool
			switch status {
			case ecsapi.TaskDefinitionFamilyStatusActive:
				match = f.Active > 0
			case ecsapi.TaskDefinitionFamilyStatusInactive:
				match = f.Active == 0 && f.Inactive+f.Deleting > 0
			default:
				match = f.Active+f.Inactive+f.Deleting > 0
			}
			if !match {
				return true, nil
			}
			if len(out.Families) == limit {
				out.NextToken = encodeToken(out.Families[len(out.Families)-1])
				return false, nil
			}
			out.Families = append(out.Families, f.Name)
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// changeTaskDefStatus moves one revision to status, keeping its family's
// counters and latest ACTIVE revision right.
func (s *Service) changeTaskDefStatus(tx store.Tx, sc scope, r *taskDefRecord, status string) error {
	now := s.clock()
	family := r.family()
	f, err := getDoc[familyRecord](tx, kindFamily, sc, family)
	if err != nil {
		return err
	}
	if f == nil {
		f = &familyRecord{Name: family, LastRevision: r.Revision}
	}
	f.count(r.Status, -1)
	f.count(status, 1)
	switch status {
	case statusInactive:
		r.DeregisteredAt = now
	case statusDeleteInProgress:
		r.DeleteRequestedAt = now
	}
	r.Status = status
	if f.LatestActive == r.Revision && status != statusActive {
		// Find the next lower ACTIVE revision.
		f.LatestActive = 0
		err := listDocs(tx, kindTaskDef, sc, family+"#", "", func(_ string, o *taskDefRecord) (bool, error) {
			if o.Status == statusActive && o.Revision != r.Revision {
				f.LatestActive = o.Revision
			}
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	if err := putDoc(tx, kindFamily, sc, family, f, now); err != nil {
		return err
	}
	return putDoc(tx, kindTaskDef, sc, taskDefKey(family, r.Revision), r, now)
}

// DeregisterTaskDefinition marks a revision INACTIVE.
func (s *Service) DeregisterTaskDefinition(ctx context.Context, in *ecsapi.DeregisterTaskDefinitionInput) (*ecsapi.DeregisterTaskDefinitionOutput, error) {
	sc := scopeOf(ctx)
	ref := deref(in.TaskDefinition)
	if r, ok := parseTaskDefRef(sc, ref); ok && r.revision == 0 {
		return nil, clientErr("Invalid revision number. A revision must be specified: family:revision or the full ARN.")
	}
	var out ecsapi.TaskDefinition
	err := s.st.Update(ctx, func(tx store.Tx) error {
		r, err := lookupTaskDef(tx, sc, ref)
		if err != nil {
			return err
		}
		if r == nil {
			return clientErr("The specified task definition does not exist.")
		}
		if r.Status == statusActive {
			if err := s.changeTaskDefStatus(tx, sc, r, statusInactive); err != nil {
				return err
			}
		}
		out = taskDefOutput(sc, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DeregisterTaskDefinitionOutput{TaskDefinition: &out}, nil
}

// DeleteTaskDefinitions moves INACTIVE revisions to DELETE_IN_PROGRESS; the
// sweeper removes them once no task uses them. ACTIVE or unknown revisions
// are failures.
func (s *Service) DeleteTaskDefinitions(ctx context.Context, in *ecsapi.DeleteTaskDefinitionsInput) (*ecsapi.DeleteTaskDefinitionsOutput, error) {
	sc := scopeOf(ctx)
	if len(in.TaskDefinitions) == 0 || len(in.TaskDefinitions) > 10 {
		return nil, ecsapi.NewInvalidParameterException("taskDefinitions must have between 1 and 10 items.")
	}
	out := &ecsapi.DeleteTaskDefinitionsOutput{TaskDefinitions: []ecsapi.TaskDefinition{}, Failures: []ecsapi.Failure{}}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		out.TaskDefinitions, out.Failures = out.TaskDefinitions[:0], out.Failures[:0]
		for _, ref := range in.TaskDefinitions {
			fail := func(reason string) {
				out.Failures = append(out.Failures, ecsapi.Failure{Arn: ptr(ref), Reason: ptr(reason)})
			}
			if r, ok := parseTaskDefRef(sc, ref); !ok || r.revision == 0 {
				fail("The specified task definition identifier is invalid. Specify a valid name or ARN and try again.")
				continue
			}
			r, err := lookupTaskDef(tx, sc, ref)
			if err != nil {
				return err
			}
			switch {
			case r == nil:
				fail("The specified task definition does not exist. Specify a valid account, family, revision and try again.")
			case r.Status == statusActive:
				fail("The specified task definition is still in ACTIVE status. Please deregister the target and try again.")
			default:
				if r.Status == statusInactive {
					if err := s.changeTaskDefStatus(tx, sc, r, statusDeleteInProgress); err != nil {
						return err
					}
				}
				out.TaskDefinitions = append(out.TaskDefinitions, taskDefOutput(sc, r))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// familyOfARN is the family of a task definition ARN ("" when it is none).
func familyOfARN(arn string) string {
	_, rest, _ := strings.Cut(arn, ":task-definition/")
	family, _, _ := strings.Cut(rest, ":")
	return family
}
