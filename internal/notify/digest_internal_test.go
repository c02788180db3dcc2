package notify

import "testing"

// TestDigestPushBody: a digest's push body lists its first three lines
// and counts the rest (lines left empty are not shown but counted).
func TestDigestPushBody(t *testing.T) {
	for _, c := range []struct {
		count int
		lines []string
		want  string
	}{
		{2, []string{"Ana booked 4", "Bob booked 5"}, "Ana booked 4\nBob booked 5"},
		{5, []string{"a", "b", "c", "d", "e"}, "a\nb\nc\nand 2 more"},
		{3, []string{"", "b", "c"}, "b\nc\nand 1 more"},
		{150, []string{"a", "b", "c", "d"}, "a\nb\nc\nand 147 more"},
	} {
		if got := digestPushBody(&DigestInfo{Count: c.count, Lines: c.lines}); got != c.want {
			t.Errorf("%d %q: got %q, want %q", c.count, c.lines, got, c.want)
		}
	}
}
