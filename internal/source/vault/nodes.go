package vault

import (
	"context"
	"fmt"
)

// NodeState is what one configured node says about itself.
type NodeState struct {
	Address     string
	Reachable   bool
	Initialized bool
	Sealed      bool
	Err         error
}

// Describe is a short phrase for operators.
func (s NodeState) Describe() string {
	switch {
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
				st.Reachable, st.Initialized, st.Sealed = true, s.Initialized, s.Sealed
			}
			err = serr
		}
		st.Err = err
		out = append(out, st)
	}
	return out
}
