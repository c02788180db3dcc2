package notify

// FeedAppend is feedAppend, for the external tests' stand-in of the
// fan-out (a notification row and its feed log entry in one transaction).
var FeedAppend = feedAppend

// Listening is closed once the feed's LISTEN connection is in place
// (PostgreSQL).
func (f *Feed) Listening() <-chan struct{} { return f.broker.listening }

// ListenerPID is the PostgreSQL backend of the feed's LISTEN connection.
func (f *Feed) ListenerPID() uint32 { return f.broker.pid.Load() }
