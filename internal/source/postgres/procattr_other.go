//go:build !linux

package postgres

import "os/exec"

// setProcAttr keeps exec's defaults: ctx kills the child alone.
func setProcAttr(*exec.Cmd) {}
