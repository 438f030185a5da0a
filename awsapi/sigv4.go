package awsapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Credentials maps access key ids to secret keys. When it is empty, Berth
// accepts any well-formed credentials (the local-development default);
// when it holds keys, every request must carry a valid SigV4 signature by
// one of them.
type Credentials map[string]string

// sigv4Request is what was parsed out of a request's SigV4 authorization,
// from the Authorization header or from a presigned URL's query string.
type sigv4Request struct {
	AccessKeyID   string
	Date          string // yyyymmdd of the scope
	Region        string
	Service       string
	SignedHeaders []string
	Signature     string
	AmzDate       string // X-Amz-Date
	Presigned     bool
	Expires       time.Duration
}

const sigv4Algorithm = "AWS4-HMAC-SHA256"

// parseSigV4 reads the SigV4 parameters of r. It returns (nil, nil) when
// the request carries no SigV4 authorization at all.
func parseSigV4(r *http.Request) (*sigv4Request, *Error) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		if !strings.HasPrefix(auth, sigv4Algorithm+" ") {
			return nil, NewError(http.StatusBadRequest, CodeIncompleteSignature, "Authorization header requires the %s algorithm.", sigv4Algorithm)
		}
		s := &sigv4Request{AmzDate: r.Header.Get("X-Amz-Date")}
		if s.AmzDate == "" {
			s.AmzDate = r.Header.Get("Date")
		}
		for _, part := range strings.Split(strings.TrimPrefix(auth, sigv4Algorithm+" "), ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			switch k {
			case "Credential":
				if err := s.setCredential(v); err != nil {
					return nil, err
				}
			case "SignedHeaders":
				s.SignedHeaders = strings.Split(v, ";")
			case "Signature":
				s.Signature = v
			}
		}
		if s.AccessKeyID == "" || s.Signature == "" || len(s.SignedHeaders) == 0 {
			return nil, NewError(http.StatusBadRequest, CodeIncompleteSignature, "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.")
		}
		return s, nil
	}
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") == "" {
		return nil, nil
	}
	if q.Get("X-Amz-Algorithm") != sigv4Algorithm {
		return nil, NewError(http.StatusBadRequest, CodeIncompleteSignature, "X-Amz-Algorithm must be %s.", sigv4Algorithm)
	}
	s := &sigv4Request{Presigned: true, AmzDate: q.Get("X-Amz-Date"), Signature: q.Get("X-Amz-Signature"),
		SignedHeaders: strings.Split(q.Get("X-Amz-SignedHeaders"), ";")}
	if err := s.setCredential(q.Get("X-Amz-Credential")); err != nil {
		return nil, err
	}
	if exp := q.Get("X-Amz-Expires"); exp != "" {
		d, err := time.ParseDuration(exp + "s")
		if err != nil {
			return nil, NewError(http.StatusBadRequest, CodeIncompleteSignature, "X-Amz-Expires must be a number of seconds.")
		}
		s.Expires = d
	}
	if s.Signature == "" {
		return nil, NewError(http.StatusBadRequest, CodeIncompleteSignature, "X-Amz-Signature is missing.")
	}
	return s, nil
}

func (s *sigv4Request) setCredential(v string) *Error {
	// AKID/yyyymmdd/region/service/aws4_request
	parts := strings.Split(v, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" {
		return NewError(http.StatusBadRequest, CodeIncompleteSignature, "Credential should be scoped to a valid region: expected AKID/yyyymmdd/region/service/aws4_request, got %q.", v)
	}
	s.AccessKeyID, s.Date, s.Region, s.Service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

// verify checks the signature of r against secret. payloadHash is the hex
// SHA-256 of the body (or the literal the client signed, such as
// UNSIGNED-PAYLOAD).
func (s *sigv4Request) verify(r *http.Request, secret, payloadHash string, now time.Time) *Error {
	t, err := time.Parse("20060102T150405Z", s.AmzDate)
	if err != nil {
		return NewError(http.StatusForbidden, CodeIncompleteSignature, "X-Amz-Date is missing or not in the form yyyyMMddTHHmmssZ.")
	}
	if s.Presigned {
		if s.Expires > 0 && now.After(t.Add(s.Expires)) {
			return NewError(http.StatusForbidden, "ExpiredToken", "The presigned request expired at %s.", t.Add(s.Expires).Format(time.RFC3339))
		}
	} else if d := now.Sub(t); d > 15*time.Minute || d < -15*time.Minute {
		return NewError(http.StatusForbidden, CodeInvalidSignature, "Signature expired: %s is now earlier than %s (%s - 15 min.)",
			t.Format("20060102T150405Z"), now.Add(-15*time.Minute).UTC().Format("20060102T150405Z"), now.UTC().Format("20060102T150405Z"))
	}
	creq := canonicalRequest(r, s.SignedHeaders, payloadHash, s.Presigned)
	scope := strings.Join([]string{s.Date, s.Region, s.Service, "aws4_request"}, "/")
	sum := sha256.Sum256([]byte(creq))
	sts := strings.Join([]string{sigv4Algorithm, s.AmzDate, scope, hex.EncodeToString(sum[:])}, "\n")
	k := hmacSHA256([]byte("AWS4"+secret), s.Date)
	k = hmacSHA256(k, s.Region)
	k = hmacSHA256(k, s.Service)
	k = hmacSHA256(k, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(k, sts))
	if !hmac.Equal([]byte(want), []byte(s.Signature)) {
		return NewError(http.StatusForbidden, CodeInvalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func canonicalRequest(r *http.Request, signed []string, payloadHash string, presigned bool) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.Query(), presigned))
	b.WriteByte('\n')
	for _, h := range signed {
		b.WriteString(h)
		b.WriteByte(':')
		var v string
		if h == "host" {
			v = r.Host
		} else if h == "content-length" {
			v = r.Header.Get("Content-Length")
			if v == "" && r.ContentLength >= 0 {
				v = itoa(r.ContentLength)
			}
		} else {
			vals := r.Header.Values(h)
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		b.WriteString(v)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

// canonicalURI escapes the already-escaped path once more, segment by
// segment, as the SDKs do for every service but S3.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = uriEncode(s)
	}
	return strings.Join(segs, "/")
}

func canonicalQuery(q url.Values, presigned bool) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vals := append([]string(nil), q[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			parts = append(parts, uriEncode(k)+"="+uriEncode(v))
		}
	}
	return strings.Join(parts, "&")
}

// uriEncode is RFC 3986 percent-encoding of everything but unreserved bytes.
func uriEncode(s string) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}
