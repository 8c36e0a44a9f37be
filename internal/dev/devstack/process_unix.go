//go:build unix

package devstack

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts the child in its own process group, so a Ctrl-C at
// the terminal reaches only this program, which then stops its children in
// order, instead of killing them behind its back (which would look like a
// crash).
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
