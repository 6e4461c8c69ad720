package vault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
)

// NodeState is what one configured node says about itself.
type NodeState struct {
	Address     string
	Reachable   bool
	Initialized bool
	Sealed      bool
	// SealType is what the node reports: "shamir", or an auto-unseal seal ("transit",
	// "awskms", ...), also before it is initialised.
	SealType string
	// NotRunning: nothing listens at the address, or its name does not resolve (a
	// StatefulSet pod that has not been created yet). Other failures (timeouts, TLS
	// errors) leave it false: the node may be running and initialised.
	NotRunning bool
	Err        error
}

// Describe is a short phrase for operators.
func (s NodeState) Describe() string {
	switch {
	case s.NotRunning:
		return "not running (nothing answers at this address)"
	case !s.Reachable:
		return fmt.Sprintf("not reachable (%v)", s.Err)
	case !s.Initialized:
		return "not initialised"
	case s.Sealed:
		return "initialised, sealed"
	default:
		return "initialised, unsealed"
	}
}

// NodeStates asks every configured address for its seal status (no token needed).
func (c *Client) NodeStates(ctx context.Context) []NodeState {
	var out []NodeState
	for _, addr := range c.candidates() {
		st := NodeState{Address: addr}
		api, err := c.at(addr)
		if err == nil {
			s, serr := api.Sys().SealStatusWithContext(ctx)
			if serr == nil {
				st.Reachable, st.Initialized, st.Sealed, st.SealType = true, s.Initialized, s.Sealed, s.Type
			}
			err = serr
		}
		st.Err = err
		var dnsErr *net.DNSError
		st.NotRunning = err != nil && (errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &dnsErr) && dnsErr.IsNotFound))
		out = append(out, st)
	}
	return out
}
