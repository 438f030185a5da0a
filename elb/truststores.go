package elb

import (
	"context"

	"github.com/berth-dev/berth/api/elbv2"
)

// Trust stores (mutual TLS) are made from a CA bundle in S3, and Berth has
// no S3 and terminates no TLS, so none can exist: creating one answers
// ELB's error for a bundle that cannot be found, listing finds none, and
// every operation on one answers TrustStoreNotFound.

// CreateTrustStore refuses: the CA bundle it names cannot be read.
func (s *Service) CreateTrustStore(ctx context.Context, in *elbv2.CreateTrustStoreInput) (*elbv2.CreateTrustStoreOutput, error) {
	if !nameRE.MatchString(deref(in.Name)) {
		return nil, validation("Trust store name '%s' is not valid: use up to 32 alphanumeric characters and hyphens, not starting or ending with a hyphen", deref(in.Name))
	}
	return nil, elbv2.NewCaCertificatesBundleNotFoundException(
		"The CA certificates bundle s3://%s/%s cannot be read: Berth has no S3, so trust stores (mutual TLS) are not supported",
		deref(in.CaCertificatesBundleS3Bucket), deref(in.CaCertificatesBundleS3Key))
}

// DescribeTrustStores lists no trust stores; any named is not found.
func (s *Service) DescribeTrustStores(ctx context.Context, in *elbv2.DescribeTrustStoresInput) (*elbv2.DescribeTrustStoresOutput, error) {
	if len(in.Names) > 0 || len(in.TrustStoreArns) > 0 {
		return nil, trustStoreNotFound()
	}
	return &elbv2.DescribeTrustStoresOutput{TrustStores: []elbv2.TrustStore{}}, nil
}

func trustStoreNotFound() error {
	return elbv2.NewTrustStoreNotFoundException("One or more trust stores not found")
}

// checkTrustStore is what every operation on one trust store answers.
func checkTrustStore(arn *string) error {
	if !trustStoreARN.MatchString(deref(arn)) {
		return validation("'%s' is not a valid trust store ARN", deref(arn))
	}
	return trustStoreNotFound()
}

func (s *Service) DeleteTrustStore(ctx context.Context, in *elbv2.DeleteTrustStoreInput) (*elbv2.DeleteTrustStoreOutput, error) {
	return nil, checkTrustStore(in.TrustStoreArn)
}

func (s *Service) ModifyTrustStore(ctx context.Context, in *elbv2.ModifyTrustStoreInput) (*elbv2.ModifyTrustStoreOutput, error) {
	return nil, checkTrustStore(in.TrustStoreArn)
}

func (s *Service) GetTrustStoreCaCertificatesBundle(ctx context.Context, in *elbv2.GetTrustStoreCaCertificatesBundleInput) (*elbv2.GetTrustStoreCaCertificatesBundleOutput, error) {
	return nil, checkTrustStore(in.TrustStoreArn)
}

func (s *Service) AddTrustStoreRevocations(ctx context.Context, in *elbv2.AddTrustStoreRevocationsInput) (*elbv2.AddTrustStoreRevocationsOutput, error) {
	return nil, checkTrustStore(in.TrustStoreArn)
}

func (s *Service) RemoveTrustStoreRevocations(ctx context.Context, in *elbv2.RemoveTrustStoreRevocationsInput) (*elbv2.RemoveTrustStoreRevocationsOutput, error) {
	return nil, checkTrustStore(in.TrustStoreArn)
}

func (s *Service) DescribeTrustStoreRevocations(ctx context.Context, in *elbv2.DescribeTrustStoreRevocationsInput) (*elbv2.DescribeTrustStoreRevocationsOutput, error) {
	return nil, checkTrustStore(in.TrustStoreArn)
}

func (s *Service) GetTrustStoreRevocationContent(ctx context.Context, in *elbv2.GetTrustStoreRevocationContentInput) (*elbv2.GetTrustStoreRevocationContentOutput, error) {
	return nil, checkTrustStore(in.TrustStoreArn)
}

func (s *Service) DescribeTrustStoreAssociations(ctx context.Context, in *elbv2.DescribeTrustStoreAssociationsInput) (*elbv2.DescribeTrustStoreAssociationsOutput, error) {
	return nil, checkTrustStore(in.TrustStoreArn)
}

func (s *Service) DeleteSharedTrustStoreAssociation(ctx context.Context, in *elbv2.DeleteSharedTrustStoreAssociationInput) (*elbv2.DeleteSharedTrustStoreAssociationOutput, error) {
	return nil, checkTrustStore(in.TrustStoreArn)
}
