package logs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/store"
)

// Field index policies of log groups are stored records ("GROUP:");
// Berth's queries scan events whatever is indexed, so an index changes no
// result, but DescribeFieldIndexes reports the indexed fields with the
// times of the first and last events that have them.
const kindIndexPolicy = "logs.index-policy"

// maxIndexFields is how many fields a field index policy can name.
const maxIndexFields = 20

// indexFields validates a field index policy document, {"Fields": [...]}.
func indexFields(doc string) ([]string, error) {
	var d struct {
		Fields []string `json:"Fields"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, invalidParam("Invalid field index policy document: %v", err)
	}
	if len(d.Fields) == 0 || len(d.Fields) > maxIndexFields {
		return nil, invalidParam("A field index policy must name between 1 and %d fields in \"Fields\".", maxIndexFields)
	}
	for _, f := range d.Fields {
		if f == "" || strings.HasPrefix(f, "@") {
			return nil, invalidParam("Invalid field %q in the field index policy: system fields (@...) are indexed already.", f)
		}
	}
	return d.Fields, nil
}

// PutIndexPolicy sets a log group's field index policy.
func (s *Service) PutIndexPolicy(ctx context.Context, in *logsapi.PutIndexPolicyInput) (*logsapi.PutIndexPolicyOutput, error) {
	c := callerOf(ctx)
	name, err := c.identifierName(*in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if _, err := indexFields(*in.PolicyDocument); err != nil {
		return nil, err
	}
	p := logsapi.IndexPolicy{
		LogGroupIdentifier: in.LogGroupIdentifier, PolicyDocument: in.PolicyDocument,
		LastUpdateTime: ptr(ms(s.now())), Source: ptr(logsapi.IndexSourceLogGroup),
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, name)
		if err != nil {
			return err
		}
		p.LogGroupIdentifier = ptr(c.groupARN(g.Name))
		doc, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return tx.PutResource(store.Resource{Kind: kindIndexPolicy, Account: c.Account, Region: c.Region, ID: filterID(g.Name, ""), Doc: doc, UpdatedAt: s.now()})
	})
	if err != nil {
		return nil, apiErr("PutIndexPolicy", err)
	}
	return &logsapi.PutIndexPolicyOutput{IndexPolicy: &p}, nil
}

// indexPolicyOf returns the field index policy in force for a group: its
// own, else the first account policy that selects it. ok is false when
// there is none.
func indexPolicyOf(tx store.Tx, c caller, g store.LogGroup) (logsapi.IndexPolicy, bool, error) {
	var p logsapi.IndexPolicy
	r, err := tx.GetResource(kindIndexPolicy, c.Account, c.Region, filterID(g.Name, ""))
	if err == nil {
		return p, true, json.Unmarshal(r.Doc, &p)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return p, false, err
	}
	acct, err := accountPolicies(tx, c, logsapi.PolicyTypeFieldIndexPolicy)
	if err != nil {
		return p, false, err
	}
	for _, a := range acct {
		if accountPolicyApplies(a, g.Name) {
			return logsapi.IndexPolicy{
				LogGroupIdentifier: ptr(c.groupARN(g.Name)), PolicyDocument: a.PolicyDocument, PolicyName: a.PolicyName,
				LastUpdateTime: a.LastUpdatedTime, Source: ptr(logsapi.IndexSourceAccount),
			}, true, nil
		}
	}
	return p, false, nil
}

// groupsOf resolves the logGroupIdentifiers of the index operations.
func (s *Service) groupsOf(tx store.Tx, c caller, ids []string) ([]store.LogGroup, error) {
	if len(ids) == 0 {
		return nil, invalidParam("logGroupIdentifiers must name at least one log group.")
	}
	var out []store.LogGroup
	for _, id := range ids {
		name, err := c.identifierName(id)
		if err != nil {
			return nil, err
		}
		g, err := getGroup(tx, c, name)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// DescribeIndexPolicies returns the field index policies of log groups.
func (s *Service) DescribeIndexPolicies(ctx context.Context, in *logsapi.DescribeIndexPoliciesInput) (*logsapi.DescribeIndexPoliciesOutput, error) {
	c := callerOf(ctx)
	out := &logsapi.DescribeIndexPoliciesOutput{IndexPolicies: []logsapi.IndexPolicy{}}
	err := s.st.View(ctx, func(tx store.Tx) error {
		groups, err := s.groupsOf(tx, c, in.LogGroupIdentifiers)
		if err != nil {
			return err
		}
		for _, g := range groups {
			p, ok, err := indexPolicyOf(tx, c, g)
			if err != nil {
				return err
			}
			if ok {
				out.IndexPolicies = append(out.IndexPolicies, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, apiErr("DescribeIndexPolicies", err)
	}
	return out, nil
}

// DeleteIndexPolicy deletes a log group's own field index policy.
func (s *Service) DeleteIndexPolicy(ctx context.Context, in *logsapi.DeleteIndexPolicyInput) (*logsapi.DeleteIndexPolicyOutput, error) {
	c := callerOf(ctx)
	name, err := c.identifierName(*in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		return deleteGroupChild(tx, c, name, "", kindIndexPolicy, "The specified log group has no field index policy.")
	})
	if err != nil {
		return nil, apiErr("DeleteIndexPolicy", err)
	}
	return &logsapi.DeleteIndexPolicyOutput{}, nil
}

// fieldScan bounds how many of a group's newest events the field
// operations look at.
const fieldScan = 10_000

// DescribeFieldIndexes lists the indexed fields of log groups, with the
// first and last times (of the newest 10,000 events) an event had each.
func (s *Service) DescribeFieldIndexes(ctx context.Context, in *logsapi.DescribeFieldIndexesInput) (*logsapi.DescribeFieldIndexesOutput, error) {
	c := callerOf(ctx)
	out := &logsapi.DescribeFieldIndexesOutput{FieldIndexes: []logsapi.FieldIndex{}}
	now := ms(s.now())
	err := s.st.View(ctx, func(tx store.Tx) error {
		groups, err := s.groupsOf(tx, c, in.LogGroupIdentifiers)
		if err != nil {
			return err
		}
		for _, g := range groups {
			p, ok, err := indexPolicyOf(tx, c, g)
			if err != nil || !ok {
				return err
			}
			fields, err := indexFields(str(p.PolicyDocument))
			if err != nil {
				return err
			}
			evs, err := tx.ListLogEvents(store.LogEventQuery{GroupID: g.ID, Descending: true, Limit: fieldScan})
			if err != nil {
				return err
			}
			first, last := map[string]int64{}, map[string]int64{}
			for _, e := range evs {
				r := record{}
				jsonFields(r, e.Message)
				for _, f := range fields {
					if _, has := r[f]; has {
						first[f] = e.Timestamp // descending: the last seen is the oldest
						if last[f] == 0 {
							last[f] = e.Timestamp
						}
					}
				}
			}
			for _, f := range fields {
				fi := logsapi.FieldIndex{
					LogGroupIdentifier: ptr(c.groupARN(g.Name)), FieldIndexName: ptr(f),
					LastScanTime: ptr(now), Type: ptr(logsapi.IndexTypeFieldIndex),
				}
				if t, ok := first[f]; ok {
					fi.FirstEventTime, fi.LastEventTime = ptr(t), ptr(last[f])
				}
				out.FieldIndexes = append(out.FieldIndexes, fi)
			}
		}
		return nil
	})
	if err != nil {
		return nil, apiErr("DescribeFieldIndexes", err)
	}
	return out, nil
}

// recordPointer is an event's @ptr: where GetLogRecord finds it again
// (group id and name, stream id, timestamp, event id), opaque to clients.
func recordPointer(g store.LogGroup, e store.LogEvent) string {
	// Built with strconv, not fmt: Insights makes one for every event it
	// scans.
	b := make([]byte, 0, 64+len(g.Name))
	b = strconv.AppendInt(b, g.ID, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, e.StreamID, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, e.Timestamp, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, ':')
	b = append(b, g.Name...)
	return base64.RawURLEncoding.EncodeToString(b)
}

type pointer struct {
	group, stream, ts, id int64
	name                  string
}

func parsePointer(p string) (pointer, bool) {
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return pointer{}, false
	}
	parts := strings.SplitN(string(b), ":", 5)
	if len(parts) != 5 || parts[4] == "" {
		return pointer{}, false
	}
	var n [4]int64
	for i := range 4 {
		if n[i], err = strconv.ParseInt(parts[i], 10, 64); err != nil {
			return pointer{}, false
		}
	}
	return pointer{group: n[0], stream: n[1], ts: n[2], id: n[3], name: parts[4]}, true
}

// GetLogRecord returns the fields of the event a Logs Insights @ptr
// points at, masked by the group's data protection policy unless unmask.
func (s *Service) GetLogRecord(ctx context.Context, in *logsapi.GetLogRecordInput) (*logsapi.GetLogRecordOutput, error) {
	c := callerOf(ctx)
	p, ok := parsePointer(*in.LogRecordPointer)
	if !ok {
		return nil, invalidParam("The specified logRecordPointer is not valid: use the @ptr value of a Logs Insights query result.")
	}
	gone := func() error {
		return logsapi.NewResourceNotFoundException("The log record %s does not exist.", *in.LogRecordPointer)
	}
	out := &logsapi.GetLogRecordOutput{}
	err := s.st.View(ctx, func(tx store.Tx) error {
		g, err := tx.GetLogGroup(c.Account, c.Region, p.name)
		if errors.Is(err, store.ErrNotFound) || err == nil && g.ID != p.group {
			return gone()
		}
		if err != nil {
			return err
		}
		evs, err := tx.ListLogEvents(store.LogEventQuery{GroupID: g.ID, StreamIDs: []int64{p.stream}, Start: p.ts, End: p.ts + 1})
		if err != nil {
			return err
		}
		i := slices.IndexFunc(evs, func(e store.LogEvent) bool { return e.ID == p.id })
		if i < 0 {
			return gone()
		}
		e := evs[i]
		if !unmasked(in.Unmask) {
			m, err := maskerFor(tx, c, g)
			if err != nil {
				return err
			}
			e.Message = m.mask(e)
		}
		r := eventRecord(c, g, e)
		delete(r, "@ts")
		r["@timestamp"] = strconv.FormatInt(e.Timestamp, 10)
		r["@ingestionTime"] = strconv.FormatInt(e.Ingested, 10)
		r["@logStream"] = e.StreamName
		out.LogRecord = r
		return nil
	})
	if err != nil {
		return nil, apiErr("GetLogRecord", err)
	}
	return out, nil
}

// GetLogFields lists the fields of a log group's JSON events with their
// types. AWS's data sources (dataSourceName + dataSourceType, such as
// amazon_vpc.flow) are log groups in Berth: dataSourceName names a log
// group (name or ARN); dataSourceType is accepted and not used.
func (s *Service) GetLogFields(ctx context.Context, in *logsapi.GetLogFieldsInput) (*logsapi.GetLogFieldsOutput, error) {
	c := callerOf(ctx)
	name, err := c.identifierName(*in.DataSourceName)
	if err != nil {
		return nil, err
	}
	root := &fieldNode{typ: "object"}
	err = s.st.View(ctx, func(tx store.Tx) error {
		g, err := tx.GetLogGroup(c.Account, c.Region, name)
		if errors.Is(err, store.ErrNotFound) {
			return logsapi.NewResourceNotFoundException("The data source %s does not exist: in Berth a data source is a log group.", name)
		}
		if err != nil {
			return err
		}
		evs, err := tx.ListLogEvents(store.LogEventQuery{GroupID: g.ID, Descending: true, Limit: fieldScan})
		if err != nil {
			return err
		}
		for _, e := range evs {
			if !strings.HasPrefix(strings.TrimSpace(e.Message), "{") {
				continue
			}
			var doc any
			d := json.NewDecoder(strings.NewReader(e.Message))
			d.UseNumber()
			if d.Decode(&doc) == nil {
				root.merge(doc)
			}
		}
		return nil
	})
	if err != nil {
		return nil, apiErr("GetLogFields", err)
	}
	return &logsapi.GetLogFieldsOutput{LogFields: root.items()}, nil
}

// fieldNode is the merged shape of JSON values seen at one place.
type fieldNode struct {
	typ     string
	fields  map[string]*fieldNode
	element *fieldNode
}

func jsonType(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "long"
		}
		return "double"
	}
	return "null"
}

func (n *fieldNode) merge(v any) {
	t := jsonType(v)
	switch {
	case t == "null":
		return
	case n.typ == "" || n.typ == "null":
		n.typ = t
	case n.typ == "long" && t == "double":
		n.typ = "double"
	case n.typ != t && !(n.typ == "double" && t == "long"):
		n.typ = "string" // mixed types read as strings, as Insights shows them
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if n.fields == nil {
			n.fields = map[string]*fieldNode{}
		}
		for k, e := range x {
			if n.fields[k] == nil {
				n.fields[k] = &fieldNode{}
			}
			n.fields[k].merge(e)
		}
	case []any:
		if n.element == nil {
			n.element = &fieldNode{}
		}
		for _, e := range x {
			n.element.merge(e)
		}
	}
}

func (n *fieldNode) fieldType() *logsapi.LogFieldType {
	t := &logsapi.LogFieldType{Type: ptr(n.typ)}
	if n.typ == "object" {
		t.Fields = n.items()
	}
	if n.typ == "array" && n.element != nil && n.element.typ != "" {
		t.Element = n.element.fieldType()
	}
	return t
}

func (n *fieldNode) items() []logsapi.LogFieldsListItem {
	keys := make([]string, 0, len(n.fields))
	for k, f := range n.fields {
		if f.typ != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make([]logsapi.LogFieldsListItem, 0, len(keys))
	for _, k := range keys {
		out = append(out, logsapi.LogFieldsListItem{LogFieldName: ptr(k), LogFieldType: n.fields[k].fieldType()})
	}
	return out
}
