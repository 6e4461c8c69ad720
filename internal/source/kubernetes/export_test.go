package kubernetes

// SetPageSize makes lists page after n items, so that tests with few objects go through
// the continue tokens; it returns the restore.
func SetPageSize(n int64) func() {
	old := pageSize
	pageSize = n
	return func() { pageSize = old }
}
