package elb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"sync"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/elb/proxy"
)

// CertificateSource gives HTTPS listeners the key pairs of IAM server
// certificates; Berth has no ACM. Without a source (SetCertificateSource
// not called) HTTPS listeners are refused.
type CertificateSource interface {
	// KeyPair returns the PEM certificate (followed by its chain) and PEM
	// private key of the server certificate arn of account; found is
	// false when there is no such certificate.
	KeyPair(ctx context.Context, account, arn string) (certPEM, keyPEM string, found bool, err error)
}

// defaultSSLPolicy is AWS's default for listeners created through the API.
const defaultSSLPolicy = "ELBSecurityPolicy-2016-08"

type certBox struct {
	mu  sync.Mutex
	src CertificateSource
	// cache keeps parsed key pairs by ARN. An ARN names a certificate
	// only until it is deleted (a new upload may reuse the name), so an
	// entry is used while IAM still answers the same PEM for the ARN.
	cache map[string]cachedPair
}

type cachedPair struct {
	certPEM, keyPEM string
	pair            *tls.Certificate
}

// SetCertificateSource lets CreateListener and ModifyListener make HTTPS
// listeners with the certificates src gives.
func (s *Service) SetCertificateSource(src CertificateSource) {
	s.certs.mu.Lock()
	s.certs.src = src
	s.certs.cache = map[string]cachedPair{}
	s.certs.mu.Unlock()
}

func (s *Service) httpsEnabled() bool {
	s.certs.mu.Lock()
	defer s.certs.mu.Unlock()
	return s.certs.src != nil
}

// certificate loads the key pair of a certificate ARN of acct, answering
// CertificateNotFound as ELB does for one that does not exist.
func (s *Service) certificate(ctx context.Context, acct, arn string) (*tls.Certificate, error) {
	if strings.Contains(arn, ":acm:") {
		return nil, elbv2.NewCertificateNotFoundException("Certificate '%s' not found: Berth has no ACM; upload the certificate with IAM's UploadServerCertificate and use its arn:aws:iam::…:server-certificate/… ARN", arn)
	}
	if !certARN.MatchString(arn) || !strings.HasPrefix(strings.TrimPrefix(arn, "arn:aws:iam::"), acct+":") {
		return nil, elbv2.NewCertificateNotFoundException("Certificate '%s' not found", arn)
	}
	s.certs.mu.Lock()
	src := s.certs.src
	s.certs.mu.Unlock()
	if src == nil {
		return nil, elbv2.NewUnsupportedProtocolException("HTTPS listeners are not available: no certificate source is configured")
	}
	certPEM, keyPEM, found, err := src.KeyPair(ctx, acct, arn)
	if err != nil {
		return nil, err
	}
	if !found {
		s.certs.mu.Lock()
		delete(s.certs.cache, arn)
		s.certs.mu.Unlock()
		return nil, elbv2.NewCertificateNotFoundException("Certificate '%s' not found", arn)
	}
	s.certs.mu.Lock()
	c, ok := s.certs.cache[arn]
	s.certs.mu.Unlock()
	if ok && c.certPEM == certPEM && c.keyPEM == keyPEM {
		return c.pair, nil
	}
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return nil, elbv2.NewCertificateNotFoundException("Certificate '%s' cannot be used: %v", arn, err)
	}
	if pair.Leaf == nil {
		pair.Leaf, _ = x509.ParseCertificate(pair.Certificate[0])
	}
	s.certs.mu.Lock()
	s.certs.cache[arn] = cachedPair{certPEM: certPEM, keyPEM: keyPEM, pair: &pair}
	s.certs.mu.Unlock()
	return &pair, nil
}

// httpsSettings validates an HTTPS listener's default certificate and
// security policy, returning the stored values.
func (s *Service) httpsSettings(ctx context.Context, acct string, certs []elbv2.Certificate, policy *string, current listenerRecord) (cert, pol string, err error) {
	if !s.httpsEnabled() {
		return "", "", elbv2.NewUnsupportedProtocolException("Protocol 'HTTPS' is not supported by Berth yet: its IAM does not keep server certificates' private keys, so a listener has no key to terminate TLS with; use HTTP")
	}
	cert, pol = current.DefaultCertificate, current.SslPolicy
	if len(certs) > 1 {
		return "", "", validation("A listener can have only one default certificate; add others with AddListenerCertificates")
	}
	if len(certs) == 1 {
		cert = deref(certs[0].CertificateArn)
	}
	if cert == "" {
		return "", "", validation("A certificate must be specified for HTTPS listeners")
	}
	if _, err := s.certificate(ctx, acct, cert); err != nil {
		return "", "", err
	}
	if policy != nil {
		pol = *policy
	}
	if pol == "" {
		pol = defaultSSLPolicy
	}
	if _, ok := minTLSVersion(pol); !ok {
		return "", "", elbv2.NewSSLPolicyNotFoundException("SSL policy '%s' not found", pol)
	}
	return cert, pol, nil
}

// minTLSVersion is the lowest protocol of a predefined policy.
func minTLSVersion(name string) (uint16, bool) {
	versions := map[string]uint16{"TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13}
	for _, p := range sslPolicies {
		if p.name != name {
			continue
		}
		low := uint16(tls.VersionTLS13)
		for _, pr := range p.protocols {
			if v, ok := versions[pr]; ok && v < low {
				low = v
			}
		}
		return low, true
	}
	return 0, false
}

// listenerTLS is the data plane's TLS for an HTTPS listener, with the
// ARNs still to load (fillTLS, outside the store's transaction).
func listenerTLS(l listenerRecord) *proxy.TLS {
	if l.Protocol != string(elbv2.ProtocolEnumHttps) {
		return nil
	}
	v, _ := minTLSVersion(l.SslPolicy)
	return &proxy.TLS{MinVersion: v, CertificateARNs: append([]string{l.DefaultCertificate}, l.Certificates...)}
}

// fillTLS loads the certificates of HTTPS listeners; one that cannot be
// loaded is left out (the listener then serves the others).
func (s *Service) fillTLS(ctx context.Context, cfg *proxy.Config) {
	for i := range cfg.Listeners {
		t := cfg.Listeners[i].TLS
		if t == nil {
			continue
		}
		for _, arn := range t.CertificateARNs {
			acct, _, _ := strings.Cut(strings.TrimPrefix(arn, "arn:aws:iam::"), ":")
			c, err := s.certificate(ctx, acct, arn)
			if err != nil {
				s.log.Warn("listener certificate", "listener", cfg.Listeners[i].ARN, "certificate", arn, "error", err)
				continue
			}
			t.Certificates = append(t.Certificates, *c)
		}
	}
}
