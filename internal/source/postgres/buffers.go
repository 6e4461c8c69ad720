package postgres

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// tail keeps the last max bytes written: enough of a program's stderr to say why it
// failed, without letting a chatty program grow memory.
type tail struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped bool
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.dropped = true
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if t.dropped {
		s = "..." + s
	}
	return s
}

// errTooLarge is returned by a capped buffer that was asked to hold more than its cap.
var errTooLarge = errors.New("output too large")

// capped holds a program's whole output up to max bytes.
type capped struct {
	max  int
	buf  []byte
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if len(c.buf)+len(p) > c.max {
		c.over = true
		return 0, errTooLarge
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

// toolError reports a client program's failure with its exit status and what it said.
func toolError(tool string, err error, stderr *tail) error {
	msg := stderr.String()
	var ee *exec.ExitError
	if msg == "" {
		if errors.As(err, &ee) {
			return fmt.Errorf("%s failed (%w) without a message", tool, err)
		}
		return fmt.Errorf("%s: %w", tool, err)
	}
	return fmt.Errorf("%s failed (%w): %s", tool, err, msg)
}
