package pipeline

import "context"

type backupIDKey struct{}

// WithBackupID makes a Run under ctx use id (made by catalog.NewBackupID for the same
// source) instead of a fresh one, so a caller can hand the id out before the run starts:
// the server answers a trigger with the id of the run it has just queued.
func WithBackupID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, backupIDKey{}, id)
}

func backupIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(backupIDKey{}).(string)
	return id
}
