// Package storetest is the one conformance suite every store.Store passes: the contract in
// package store, checked against a real directory and a real S3 server.
package storetest

import (
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// Run checks the store contract. newStore returns an empty store that nothing else uses; it
// is called once per subtest, and the store is cleaned up by the caller (t.Cleanup).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"Stat", testStat},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"List", testList},
		{"ReaderFailsMidway", testReaderFailsMidway},
		{"ContextCancelledMidway", testContextCancelledMidway},
		{"ContextCancelledBefore", testContextCancelledBefore},
		{"PutFromRing", testPutFromRing},
		{"PutFromRingAborted", testPutFromRingAborted},
		{"PutFromRingCancelled", testPutFromRingCancelled},
		{"ConcurrentPuts", testConcurrentPuts},
		{"PutWhileDeletingSibling", testPutWhileDeletingSibling},
		{"KeyCharacters", testKeyCharacters},
		{"InvalidKeys", testInvalidKeys},
		{"String", testString},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}
