package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/awsapi"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/main.css
var mainCSS []byte

// pageTemplate is the layout with one page's content.
type pageTemplate = template.Template

// page is what the layout reads: the scope, the navigation and the
// page's own data.
type page struct {
	Title       string
	Crumbs      []crumb
	Account     string
	Region      string
	Refresh     int
	SignedIn    bool
	AccessKeyID string
	Status      int
	Path        string
	Query       url.Values
	Generated   time.Time
	Data        any
}

type crumb struct{ Name, URL string }

// globalParams are the parameters every link keeps.
var globalParams = []string{"account", "region", "refresh"}

// Link is the URL of a console page (path relative to Path) with the
// given parameters and the current scope.
func (p *page) Link(path string, kv ...string) string {
	q := url.Values{}
	for _, k := range globalParams {
		if v := p.Query.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u := Path + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// Hidden are the current page's own parameters, kept by the scope form.
func (p *page) Hidden() [][2]string {
	var out [][2]string
	for k, vs := range p.Query {
		if k == "account" || k == "region" || k == "refresh" || len(vs) == 0 {
			continue
		}
		out = append(out, [2]string{k, vs[0]})
	}
	return out
}

// RefreshLink toggles auto-refresh.
func (p *page) RefreshLink(seconds int) string {
	q := url.Values{}
	for k, vs := range p.Query {
		if len(vs) > 0 {
			q.Set(k, vs[0])
		}
	}
	if seconds > 0 {
		q.Set("refresh", strconv.Itoa(seconds))
	} else {
		q.Del("refresh")
	}
	if len(q) == 0 {
		return p.Path
	}
	return p.Path + "?" + q.Encode()
}

// MetaRefresh is the refresh meta tag; Refresh is a validated number.
func (p *page) MetaRefresh() template.HTML {
	if p.Refresh <= 0 {
		return ""
	}
	return template.HTML(fmt.Sprintf(`<meta http-equiv="refresh" content="%d">`, p.Refresh))
}

func (p *page) crumb(name, url string) { p.Crumbs = append(p.Crumbs, crumb{name, url}) }

var funcs = template.FuncMap{
	"v":     show,
	"time":  showTime,
	"ms":    showMillis,
	"short": shortARN,
	"bytes": showBytes,
	"int":   intOf,
	"lower": strings.ToLower,
	"dict":  dict,
	"trunc": func(n int, s string) string {
		if len(s) <= n {
			return s
		}
		return s[:n] + "…"
	},
}

// dict makes a map of key, value pairs, to pass several values to a
// shared template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// show prints a wire value: pointers dereferenced, nil as "-".
func show(x any) string {
	if x == nil {
		return "-"
	}
	v := reflect.ValueOf(x)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "-"
		}
		v = v.Elem()
	}
	if ts, ok := v.Interface().(awsapi.Timestamp); ok {
		return ts.UTC().Format(time.DateTime)
	}
	if v.Kind() == reflect.Slice {
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = show(v.Index(i).Interface())
		}
		if len(parts) == 0 {
			return "-"
		}
		return strings.Join(parts, ", ")
	}
	s := fmt.Sprint(v.Interface())
	if s == "" {
		return "-"
	}
	return s
}

func intOf(x any) int64 {
	v := reflect.ValueOf(x)
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return 0
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return 0
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	}
	return 0
}

func showTime(t *awsapi.Timestamp) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateTime)
}

// showMillis prints a CloudWatch Logs time (milliseconds since the epoch).
func showMillis(ms *int64) string {
	if ms == nil {
		return "-"
	}
	return time.UnixMilli(*ms).UTC().Format("2006-01-02 15:04:05.000")
}

// shortARN is the last part of an ARN, the resource's id or name.
func shortARN(arn any) string {
	s := show(arn)
	if i := strings.LastIndex(s, "/"); i >= 0 && i < len(s)-1 {
		return s[i+1:]
	}
	return s
}

func showBytes(n any) string {
	b := intOf(n)
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for m := b / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

// parseTemplates makes one template set per page: the layout with the
// page's content.
func parseTemplates() (map[string]*pageTemplate, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*pageTemplate{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// render writes the page name with data.
func (c *Console) render(req *request, name string, data any) error {
	t := c.pages[name]
	if t == nil {
		return fmt.Errorf("console: no template %q", name)
	}
	req.page.Data = data
	req.page.Generated = time.Now().UTC()
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", req.page); err != nil {
		return err
	}
	status := req.page.Status
	if status == 0 {
		status = http.StatusOK
	}
	h := req.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	req.w.WriteHeader(status)
	if req.r.Method != http.MethodHead {
		req.w.Write(buf.Bytes())
	}
	return nil
}
