package controlplane

import "crypto/x509"

// IssueServingCert writes DIR/name.crt and DIR/name.key, a serving
// certificate for hosts signed by the cluster CA in dataDir, and returns
// their paths and the CA's PEM. Add-ons that the API server calls (an
// admission webhook) serve with it, and register the CA as their
// caBundle. It is issued again on every call, so its hosts follow the
// caller's.
func IssueServingCert(dataDir, name string, hosts []string) (certFile, keyFile string, caPEM []byte, err error) {
	p := &pki{dir: dataDir}
	if err := p.loadOrCreateCA(); err != nil {
		return "", "", nil, err
	}
	if err := p.issue(name, name, nil, hosts, x509.ExtKeyUsageServerAuth, true); err != nil {
		return "", "", nil, err
	}
	return p.path(name + ".crt"), p.path(name + ".key"), p.caPEM, nil
}
