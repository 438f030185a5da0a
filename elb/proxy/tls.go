package proxy

import (
	"crypto/tls"
	"strings"
)

// TLS is an HTTPS listener's certificates and protocol floor.
type TLS struct {
	// Certificates are the default certificate first, then the SNI
	// certificates of AddListenerCertificates.
	Certificates []tls.Certificate
	// MinVersion is the lowest protocol of the listener's security
	// policy (tls.VersionTLS12 ...).
	MinVersion uint16
	// CertificateARNs are the ARNs Certificates were loaded from (the
	// control plane's bookkeeping; the proxy does not read them).
	CertificateARNs []string
}

// scheme is the protocol a request came in on, for X-Forwarded-Proto
// and #{protocol}.
func scheme(l *listener) string {
	if l.tls.Load() != nil {
		return "https"
	}
	return "http"
}

// tlsConfig serves the listener's current certificates: the one whose
// names match the client's server name, the default one otherwise, as
// an ALB does with SNI.
func tlsConfig(l *listener) *tls.Config {
	return &tls.Config{
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			t := l.tls.Load()
			if t == nil || len(t.Certificates) == 0 {
				return nil, errNoCertificate
			}
			cert := &t.Certificates[0]
			for i := range t.Certificates {
				if hello.ServerName != "" && hello.SupportsCertificate(&t.Certificates[i]) == nil && certNames(&t.Certificates[i], hello.ServerName) {
					cert = &t.Certificates[i]
					break
				}
			}
			return &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: max(t.MinVersion, tls.VersionTLS10)}, nil
		},
	}
}

type tlsError string

func (e tlsError) Error() string { return string(e) }

const errNoCertificate = tlsError("proxy: listener has no certificate")

// certNames reports whether the certificate is for name (its DNS names,
// or its common name when it has none), with a leading *. wildcard.
func certNames(c *tls.Certificate, name string) bool {
	if c.Leaf == nil {
		return false
	}
	names := c.Leaf.DNSNames
	if len(names) == 0 && c.Leaf.Subject.CommonName != "" {
		names = []string{c.Leaf.Subject.CommonName}
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	for _, n := range names {
		n = strings.ToLower(n)
		if n == name {
			return true
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if i := strings.IndexByte(name, '.'); i > 0 && name[i+1:] == rest {
				return true
			}
		}
	}
	return false
}
