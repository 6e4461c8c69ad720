//go:build !linux

package postgres

import "os/exec"

func setProcAttr(*exec.Cmd) {}
