package iam

import (
	"context"
	"strings"

	"github.com/berth-dev/berth/store"
)

// KeyPair gives a load balancer the certificate (followed by its chain)
// and private key of the account's server certificate arn, as ELB reads
// IAM server certificates for HTTPS listeners; found is false when the
// account has no certificate with that ARN. A certificate uploaded before
// Berth kept keys has none and is not found.
func (s *Service) KeyPair(ctx context.Context, account, arn string) (certPEM, keyPEM string, found bool, err error) {
	prefix := "arn:aws:iam::" + account + ":server-certificate/"
	if !strings.HasPrefix(arn, prefix) {
		return "", "", false, nil
	}
	name := arn[strings.LastIndexByte(arn, '/')+1:]
	var c serverCertRecord
	err = s.st.View(ctx, func(tx store.Tx) error {
		var err error
		found, err = get(tx, kindServerCert, account, key(name), &c)
		return err
	})
	if err != nil || !found {
		return "", "", false, err
	}
	if c.arn(account) != arn || c.Key == "" {
		return "", "", false, nil
	}
	certPEM = c.Body + "\n"
	if c.Chain != "" {
		certPEM += c.Chain + "\n"
	}
	return certPEM, c.Key + "\n", true, nil
}
