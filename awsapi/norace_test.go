//go:build !race

package awsapi

const raceEnabled = false
