package webhook

// EventPurge is eventPurge, for the tests of package webhook_test.
var EventPurge = eventPurge
