// Package applicationautoscaling is the wire layer of Application Auto Scaling, generated
// from botocore's model: types, enums, errors, validation and the json binding.
package applicationautoscaling

//go:generate go run ../../awsapi/gen -service application-autoscaling -out . -package applicationautoscaling
