package main

import (
	"fmt"
	"io"
	"os"
)

// echo copies stdin to stdout until end of file: the image has no shell or
// cat, and `kubectl exec -i` tests need a command that reads its input.
//
//	/app echo   copy stdin to stdout, then exit 0
func echo() int {
	if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testapp: echo:", err)
		return 1
	}
	return 0
}
