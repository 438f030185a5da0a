package logs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/store"
)

// A log group's transformer (record "GROUP:") rewrites every event
// PutLogEvents stores, as AWS stores the transformed event; an account
// TRANSFORMER_POLICY applies to the groups it selects that have none of
// their own. Berth runs the common processors below; a transformer naming
// another is refused with InvalidParameterException when it is put, so
// nothing is ever stored untransformed by surprise.
const kindTransformer = "logs.transformer"

// maxProcessors is how many processors a transformer can have.
const maxProcessors = 20

// parsers are the processors a transformer may start with; AWS requires
// the first processor to be one.
var parsers = []string{"parseJSON", "parseKeyValue", "csv", "grok", "parseCloudfront", "parseRoute53", "parseToOCSF", "parsePostgres", "parseVPC", "parseWAF"}

// processorName is the one processor a Processor sets ("" when it sets
// none or several, both invalid).
func processorName(p logsapi.Processor) string {
	b, _ := json.Marshal(p)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	if len(m) != 1 {
		return ""
	}
	for k := range m {
		return k
	}
	return ""
}

var supportedProcessors = map[string]bool{
	"parseJSON": true, "parseKeyValue": true, "addKeys": true, "deleteKeys": true, "renameKeys": true,
	"copyValue": true, "lowerCaseString": true, "upperCaseString": true, "trimString": true,
}

// checkTransformer validates a transformer configuration.
func checkTransformer(ps []logsapi.Processor) error {
	if len(ps) == 0 || len(ps) > maxProcessors {
		return invalidParam("A transformer must have between 1 and %d processors.", maxProcessors)
	}
	for i, p := range ps {
		name := processorName(p)
		if name == "" {
			return invalidParam("Processor %d must set exactly one processor type.", i)
		}
		if i == 0 && !contains(parsers, name) {
			return invalidParam("The first processor of a transformer must be a parser (%s), not %s.", strings.Join(parsers, ", "), name)
		}
		if !supportedProcessors[name] {
			return invalidParam("Processor %s is not supported by Berth; supported processors: parseJSON, parseKeyValue, addKeys, deleteKeys, renameKeys, copyValue, lowerCaseString, upperCaseString, trimString.", name)
		}
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// event is a log event being transformed: "@message" holds the original
// text until a parser replaces it.
type event map[string]any

// lookup finds a dotted key ("outer.inner").
func (e event) lookup(key string) (any, bool) {
	var cur any = map[string]any(e)
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// set writes a dotted key, creating the objects on the way; an existing
// value is replaced only with overwrite.
func (e event) set(key string, v any, overwrite bool) {
	parts := strings.Split(key, ".")
	m := map[string]any(e)
	for _, part := range parts[:len(parts)-1] {
		next, ok := m[part].(map[string]any)
		if !ok {
			if _, exists := m[part]; exists && !overwrite {
				return
			}
			next = map[string]any{}
			m[part] = next
		}
		m = next
	}
	last := parts[len(parts)-1]
	if _, exists := m[last]; exists && !overwrite {
		return
	}
	m[last] = v
}

func (e event) remove(key string) {
	parts := strings.Split(key, ".")
	m := map[string]any(e)
	for _, part := range parts[:len(parts)-1] {
		next, ok := m[part].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, parts[len(parts)-1])
}

func boolOf(p *bool) bool { return p != nil && *p }

func orDefault(p *string, def string) string {
	if p == nil || *p == "" {
		return def
	}
	return *p
}

// transform runs the processors over one message and returns the stored
// form: the event as JSON, or the original message when a processor
// cannot apply (AWS keeps an event it cannot transform as it came).
func transform(ps []logsapi.Processor, msg string) (string, error) {
	e := event{"@message": msg}
	for _, p := range ps {
		if err := apply(e, p); err != nil {
			return msg, err
		}
	}
	if s, ok := e["@message"].(string); ok && len(e) == 1 {
		return s, nil
	}
	b, err := json.Marshal(map[string]any(e))
	if err != nil {
		return msg, err
	}
	return string(b), nil
}

func apply(e event, p logsapi.Processor) error {
	switch {
	case p.ParseJSON != nil:
		src := orDefault(p.ParseJSON.Source, "@message")
		v, ok := e.lookup(src)
		s, isStr := v.(string)
		if !ok || !isStr {
			return fmt.Errorf("parseJSON: %s is not a string", src)
		}
		var parsed map[string]any
		if err := json.Unmarshal([]byte(s), &parsed); err != nil {
			return fmt.Errorf("parseJSON: %s is not a JSON object", src)
		}
		if dst := str(p.ParseJSON.Destination); dst != "" {
			e.set(dst, parsed, true)
		} else {
			if src == "@message" {
				delete(e, "@message")
			}
			for k, v := range parsed {
				e[k] = v
			}
		}
	case p.ParseKeyValue != nil:
		kv := p.ParseKeyValue
		src := orDefault(kv.Source, "@message")
		v, ok := e.lookup(src)
		s, isStr := v.(string)
		if !ok || !isStr {
			return fmt.Errorf("parseKeyValue: %s is not a string", src)
		}
		fd, kd := orDefault(kv.FieldDelimiter, "&"), orDefault(kv.KeyValueDelimiter, "=")
		out := map[string]any{}
		for _, field := range strings.Split(s, fd) {
			if field == "" {
				continue
			}
			k, val, found := strings.Cut(field, kd)
			if !found {
				if kv.NonMatchValue == nil {
					continue
				}
				k, val = field, *kv.NonMatchValue
			}
			out[str(kv.KeyPrefix)+k] = val
		}
		if dst := str(kv.Destination); dst != "" {
			e.set(dst, out, boolOf(kv.OverwriteIfExists))
		} else {
			if src == "@message" {
				delete(e, "@message")
			}
			for k, v := range out {
				e.set(k, v, boolOf(kv.OverwriteIfExists) || src == "@message")
			}
		}
	case p.AddKeys != nil:
		for _, a := range p.AddKeys.Entries {
			e.set(str(a.Key), str(a.Value), boolOf(a.OverwriteIfExists))
		}
	case p.DeleteKeys != nil:
		for _, k := range p.DeleteKeys.WithKeys {
			e.remove(k)
		}
	case p.RenameKeys != nil:
		for _, r := range p.RenameKeys.Entries {
			v, ok := e.lookup(str(r.Key))
			if !ok {
				continue
			}
			if _, exists := e.lookup(str(r.RenameTo)); exists && !boolOf(r.OverwriteIfExists) {
				continue
			}
			e.remove(str(r.Key))
			e.set(str(r.RenameTo), v, true)
		}
	case p.CopyValue != nil:
		for _, c := range p.CopyValue.Entries {
			if v, ok := e.lookup(str(c.Source)); ok {
				e.set(str(c.Target), v, boolOf(c.OverwriteIfExists))
			}
		}
	case p.LowerCaseString != nil:
		mapStrings(e, p.LowerCaseString.WithKeys, strings.ToLower)
	case p.UpperCaseString != nil:
		mapStrings(e, p.UpperCaseString.WithKeys, strings.ToUpper)
	case p.TrimString != nil:
		mapStrings(e, p.TrimString.WithKeys, strings.TrimSpace)
	default:
		return fmt.Errorf("unsupported processor %s", processorName(p))
	}
	return nil
}

func mapStrings(e event, keys []string, f func(string) string) {
	for _, k := range keys {
		if s, ok := mustString(e.lookup(k)); ok {
			e.set(k, f(s), true)
		}
	}
}

func mustString(v any, ok bool) (string, bool) {
	s, isStr := v.(string)
	return s, ok && isStr
}

// storedTransformer is a group's transformer as kept.
type storedTransformer struct {
	CreationTime      int64               `json:"creationTime"`
	LastModifiedTime  int64               `json:"lastModifiedTime"`
	TransformerConfig []logsapi.Processor `json:"transformerConfig"`
}

// transformerFor returns the processors that apply to a group's events:
// its own transformer, else the first account transformer policy that
// selects it; nil when none does.
func transformerFor(tx store.Tx, c caller, g store.LogGroup) ([]logsapi.Processor, error) {
	r, err := tx.GetResource(kindTransformer, c.Account, c.Region, filterID(g.Name, ""))
	if err == nil {
		var t storedTransformer
		return t.TransformerConfig, json.Unmarshal(r.Doc, &t)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	acct, err := accountPolicies(tx, c, logsapi.PolicyTypeTransformerPolicy)
	if err != nil {
		return nil, err
	}
	for _, p := range acct {
		if accountPolicyApplies(p, g.Name) {
			var d struct {
				TransformerConfig []logsapi.Processor `json:"transformerConfig"`
			}
			return d.TransformerConfig, json.Unmarshal([]byte(str(p.PolicyDocument)), &d)
		}
	}
	return nil, nil
}

// PutTransformer sets a log group's transformer.
func (s *Service) PutTransformer(ctx context.Context, in *logsapi.PutTransformerInput) (*logsapi.PutTransformerOutput, error) {
	c := callerOf(ctx)
	name, err := c.identifierName(*in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if err := checkTransformer(in.TransformerConfig); err != nil {
		return nil, err
	}
	now := ms(s.now())
	err = s.st.Update(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, name)
		if err != nil {
			return err
		}
		if g.Class == string(logsapi.LogGroupClassInfrequentAccess) {
			return invalidParam("Transformers are supported only for log groups in the STANDARD class.")
		}
		t := storedTransformer{CreationTime: now, LastModifiedTime: now, TransformerConfig: in.TransformerConfig}
		if r, err := tx.GetResource(kindTransformer, c.Account, c.Region, filterID(g.Name, "")); err == nil {
			var old storedTransformer
			if json.Unmarshal(r.Doc, &old) == nil {
				t.CreationTime = old.CreationTime
			}
		}
		doc, err := json.Marshal(t)
		if err != nil {
			return err
		}
		return tx.PutResource(store.Resource{Kind: kindTransformer, Account: c.Account, Region: c.Region, ID: filterID(g.Name, ""), Doc: doc, UpdatedAt: s.now()})
	})
	if err != nil {
		return nil, apiErr("PutTransformer", err)
	}
	return &logsapi.PutTransformerOutput{}, nil
}

// GetTransformer returns a log group's transformer.
func (s *Service) GetTransformer(ctx context.Context, in *logsapi.GetTransformerInput) (*logsapi.GetTransformerOutput, error) {
	c := callerOf(ctx)
	name, err := c.identifierName(*in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	var t storedTransformer
	err = s.st.View(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, name)
		if err != nil {
			return err
		}
		r, err := tx.GetResource(kindTransformer, c.Account, c.Region, filterID(g.Name, ""))
		if errors.Is(err, store.ErrNotFound) {
			return logsapi.NewResourceNotFoundException("The specified log group has no transformer.")
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(r.Doc, &t)
	})
	if err != nil {
		return nil, apiErr("GetTransformer", err)
	}
	return &logsapi.GetTransformerOutput{
		LogGroupIdentifier: in.LogGroupIdentifier, CreationTime: ptr(t.CreationTime),
		LastModifiedTime: ptr(t.LastModifiedTime), TransformerConfig: t.TransformerConfig,
	}, nil
}

// DeleteTransformer removes a log group's transformer.
func (s *Service) DeleteTransformer(ctx context.Context, in *logsapi.DeleteTransformerInput) (*logsapi.DeleteTransformerOutput, error) {
	c := callerOf(ctx)
	name, err := c.identifierName(*in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		return deleteGroupChild(tx, c, name, "", kindTransformer, "The specified log group has no transformer.")
	})
	if err != nil {
		return nil, apiErr("DeleteTransformer", err)
	}
	return &logsapi.DeleteTransformerOutput{}, nil
}

// TestTransformer runs a transformer over sample messages.
func (s *Service) TestTransformer(ctx context.Context, in *logsapi.TestTransformerInput) (*logsapi.TestTransformerOutput, error) {
	if err := checkTransformer(in.TransformerConfig); err != nil {
		return nil, err
	}
	if len(in.LogEventMessages) == 0 || len(in.LogEventMessages) > 50 {
		return nil, invalidParam("logEventMessages must have between 1 and 50 messages.")
	}
	out := &logsapi.TestTransformerOutput{TransformedLogs: []logsapi.TransformedLogRecord{}}
	for i, m := range in.LogEventMessages {
		t, _ := transform(in.TransformerConfig, m)
		out.TransformedLogs = append(out.TransformedLogs, logsapi.TransformedLogRecord{
			EventNumber: ptr(int64(i + 1)), EventMessage: ptr(m), TransformedEventMessage: ptr(t),
		})
	}
	return out, nil
}
