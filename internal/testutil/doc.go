// Package testutil holds small helpers shared by joist's tests that are not
// about starting joist (see apptest for that) or opening a store (storetest).
//
// Eventually replaces hand-written sleep-polling loops: it waits for a
// condition with a short backoff and, when the condition never holds, fails
// the test with the condition's last reason, so the failure says what was
// still not true.
package testutil
