package servicediscovery

import (
	"context"
	"maps"
	"strconv"
	"time"

	sdapi "github.com/berth-dev/berth/api/servicediscovery"
	"github.com/berth-dev/berth/store"
)

func (s *Service) GetOperation(ctx context.Context, in *sdapi.GetOperationInput) (*sdapi.GetOperationOutput, error) {
	c := callerOf(ctx)
	var out *sdapi.GetOperationOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		op, err := store.GetDoc[operationDoc](tx, KindOperation, c.Account, c.Region, deref(in.OperationId))
		if err != nil {
			return err
		}
		if op == nil {
			return sdapi.NewOperationNotFound("No operation found with ID %s", deref(in.OperationId))
		}
		out = &sdapi.GetOperationOutput{Operation: &sdapi.Operation{Id: ptr(op.ID), OwnerAccount: ptr(c.Account),
			Type: ptr(sdapi.OperationType(op.Type)), Status: ptr(sdapi.OperationStatus(op.Status)),
			CreateDate: ts(op.Created), UpdateDate: ts(op.Updated), Targets: maps.Clone(op.Targets)}}
		return nil
	})
	return out, err
}

// parseEpoch reads an UPDATE_DATE filter value: seconds since the epoch,
// as the CLI sends it.
func parseEpoch(v string) (time.Time, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return time.Time{}, sdapi.NewInvalidInput("UPDATE_DATE value %q is not a Unix time in seconds.", v)
	}
	return time.Unix(0, int64(f*1e9)).UTC(), nil
}

func validateOperationFilters(filters []sdapi.OperationFilter) error {
	for _, f := range filters {
		name := deref(f.Name)
		var err error
		switch name {
		case sdapi.OperationFilterNameUpdateDate:
			err = checkFilter(string(name), f.Condition, f.Values, sdapi.FilterConditionBetween)
			if err == nil && len(f.Values) != 2 {
				err = sdapi.NewInvalidInput("UPDATE_DATE with BETWEEN takes two values: a start and an end time.")
			}
			for _, v := range f.Values {
				if err == nil {
					_, err = parseEpoch(v)
				}
			}
		case sdapi.OperationFilterNameNamespaceId, sdapi.OperationFilterNameServiceId:
			err = checkFilter(string(name), f.Condition, f.Values, sdapi.FilterConditionEq)
		default:
			err = checkFilter(string(name), f.Condition, f.Values, sdapi.FilterConditionEq, sdapi.FilterConditionIn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func operationMatches(op *operationDoc, filters []sdapi.OperationFilter) bool {
	for _, f := range filters {
		switch deref(f.Name) {
		case sdapi.OperationFilterNameNamespaceId:
			if !matchFilter(f.Condition, f.Values, op.Targets["NAMESPACE"], false) {
				return false
			}
		case sdapi.OperationFilterNameServiceId:
			if !matchFilter(f.Condition, f.Values, op.Targets["SERVICE"], false) {
				return false
			}
		case sdapi.OperationFilterNameStatus:
			if !matchFilter(f.Condition, f.Values, op.Status, false) {
				return false
			}
		case sdapi.OperationFilterNameType:
			if !matchFilter(f.Condition, f.Values, op.Type, false) {
				return false
			}
		case sdapi.OperationFilterNameUpdateDate:
			from, _ := parseEpoch(f.Values[0])
			to, _ := parseEpoch(f.Values[1])
			if op.Updated.Before(from) || op.Updated.After(to) {
				return false
			}
		}
	}
	return true
}

func (s *Service) ListOperations(ctx context.Context, in *sdapi.ListOperationsInput) (*sdapi.ListOperationsOutput, error) {
	c := callerOf(ctx)
	if err := validateOperationFilters(in.Filters); err != nil {
		return nil, err
	}
	limit, err := pageLimit(in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &sdapi.ListOperationsOutput{}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.Operations, out.NextToken = []sdapi.OperationSummary{}, nil
		return store.ListDocs(tx, KindOperation, c.Account, c.Region, "", deref(in.NextToken), func(_ string, op *operationDoc) (bool, error) {
			if !operationMatches(op, in.Filters) {
				return true, nil
			}
			if len(out.Operations) == limit {
				out.NextToken = ptr(*out.Operations[limit-1].Id)
				return false, nil
			}
			out.Operations = append(out.Operations, sdapi.OperationSummary{Id: ptr(op.ID), Status: ptr(sdapi.OperationStatus(op.Status))})
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
