package secrets

import (
	"time"

	"github.com/berth-dev/berth/store"
)

// GetValue reads a secret's value in tx as GetSecretValue does for a caller
// in account and region: secretID is a name, a full ARN or a partial ARN
// (of that account and region); versionID and versionStage select the
// version, AWSCURRENT when both are empty. Its errors are GetSecretValue's
// *awsapi.Error (ResourceNotFoundException, InvalidRequestException for a
// secret marked for deletion, ValidationException for a malformed name) or
// the store's.
func GetValue(tx store.Tx, account, region, secretID, versionID, versionStage string, now time.Time) (Value, error) {
	return getSecretValue(tx, caller{Account: account, Region: region}, secretID, versionID, versionStage, now.UTC())
}
