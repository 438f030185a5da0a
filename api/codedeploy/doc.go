// Package codedeploy is the wire layer of AWS CodeDeploy, generated from botocore's
// model: types, enums, errors, validation and the json binding.
package codedeploy

//go:generate go run ../../awsapi/gen -service codedeploy -out .
