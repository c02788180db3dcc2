package notify_test

import (
	"net/http"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/joist-dev/joist/wire"
)

type feedList struct {
	Data       []wire.FeedItem `json:"data"`
	NextCursor string          `json:"next_cursor"`
}

func (f *fx) counts(t *testing.T, tok string) wire.FeedCounts {
	t.Helper()
	var c wire.FeedCounts
	f.want(t, http.StatusOK, "GET", "/v1/feed/counts", tok, nil).json(t, &c)
	return c
}

func (f *fx) list(t *testing.T, tok, query string) feedList {
	t.Helper()
	var l feedList
	f.want(t, http.StatusOK, "GET", "/v1/feed"+query, tok, nil).json(t, &l)
	return l
}

// TestFeedPagingAndState: the feed pages newest first; seen, read,
// unread, archive and unarchive move a notification between the
// filters and the counts; read-all reads the rest; another contact's or
// tenant's notification is 404 and changes nothing.
func TestFeedPagingAndState(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a, b := newFx(t, env, "clinic-a"), newFx(t, env, "clinic-b")
		alice, carol := a.contact(t, "alice"), a.contact(t, "carol")
		bob := b.contact(t, "bob")
		tok, carolTok, bobTok := a.token(t, "alice"), a.token(t, "carol"), b.token(t, "bob")
		var ids []string
		for _, title := range []string{"one", "two", "three", "four", "five"} {
			id, _ := a.notify(t, alice, title)
			ids = append(ids, id)
		}
		carolN, _ := a.notify(t, carol, "carol's")
		bobN, _ := b.notify(t, bob, "bob's")

		// Paging, newest first, nothing of carol's.
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			q := "?limit=2"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			l := a.list(t, tok, q)
			for _, it := range l.Data {
				got = append(got, it.Title)
			}
			if cursor = l.NextCursor; cursor == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
		}
		if want := []string{"five", "four", "three", "two", "one"}; !equal(got, want) {
			t.Fatalf("pages %v, want %v", got, want)
		}
		l := a.list(t, tok, "")
		if it := l.Data[0]; it.ID != ids[4] || it.Body != "the body" || it.URL != "/things/1" || string(it.Data) != `{"n":1}` || it.Seq != 5 ||
			it.SeenAt != nil || it.ReadAt != nil || it.ArchivedAt != nil || it.Type != "test.type" {
			t.Fatalf("item %+v", it)
		}
		if c := a.counts(t, tok); c != (wire.FeedCounts{Unread: 5, Unseen: 5}) {
			t.Fatalf("counts %+v", c)
		}

		var it wire.FeedItem
		a.want(t, http.StatusOK, "POST", "/v1/feed/"+ids[0]+"/seen", tok, nil).json(t, &it)
		if it.SeenAt == nil || it.ReadAt != nil {
			t.Fatalf("seen: %+v", it)
		}
		if c := a.counts(t, tok); c != (wire.FeedCounts{Unread: 5, Unseen: 4}) {
			t.Fatalf("after seen: %+v", c)
		}
		a.want(t, http.StatusOK, "POST", "/v1/feed/"+ids[1]+"/read", tok, nil).json(t, &it)
		if it.SeenAt == nil || it.ReadAt == nil {
			t.Fatalf("read: %+v", it)
		}
		if c := a.counts(t, tok); c != (wire.FeedCounts{Unread: 4, Unseen: 3}) {
			t.Fatalf("after read: %+v", c)
		}
		if n := len(a.list(t, tok, "?status=unread").Data); n != 4 {
			t.Fatalf("unread: %d", n)
		}
		if n := len(a.list(t, tok, "?status=unseen").Data); n != 3 {
			t.Fatalf("unseen: %d", n)
		}
		a.want(t, http.StatusOK, "POST", "/v1/feed/"+ids[1]+"/unread", tok, nil).json(t, &it)
		if it.ReadAt != nil || it.SeenAt == nil {
			t.Fatalf("unread: %+v", it)
		}
		a.want(t, http.StatusOK, "POST", "/v1/feed/"+ids[2]+"/archive", tok, nil).json(t, &it)
		if it.ArchivedAt == nil {
			t.Fatalf("archive: %+v", it)
		}
		if c := a.counts(t, tok); c != (wire.FeedCounts{Unread: 4, Unseen: 2}) {
			t.Fatalf("after archive: %+v", c)
		}
		if l := a.list(t, tok, "?status=archived"); len(l.Data) != 1 || l.Data[0].ID != ids[2] {
			t.Fatalf("archived: %+v", l)
		}
		if n := len(a.list(t, tok, "").Data); n != 4 {
			t.Fatalf("default hides archived: %d", n)
		}
		if n := len(a.list(t, tok, "?status=all").Data); n != 5 {
			t.Fatalf("all: %d", n)
		}
		a.want(t, http.StatusOK, "POST", "/v1/feed/"+ids[2]+"/unarchive", tok, nil)
		if c := a.counts(t, tok); c != (wire.FeedCounts{Unread: 5, Unseen: 3}) {
			t.Fatalf("after unarchive: %+v", c)
		}

		// Isolation, and bad input: nothing changes.
		before := env.Snapshot(t)
		for _, c := range []struct{ path, tok string }{
			{"/v1/feed/" + carolN + "/read", tok}, {"/v1/feed/" + bobN + "/read", tok},
			{"/v1/feed/" + ids[0] + "/read", carolTok}, {"/v1/feed/" + ids[0] + "/archive", bobTok},
			{"/v1/feed/" + ids[0] + "/explode", tok}, {"/v1/feed/ntf_nope/read", tok},
		} {
			if r := a.do(t, "POST", c.path, c.tok, nil); r.status != http.StatusNotFound {
				t.Errorf("POST %s: %d %s, want 404", c.path, r.status, r.body)
			}
		}
		if r := a.do(t, "GET", "/v1/feed?status=bogus", tok, nil); r.status != http.StatusBadRequest || r.code(t) != "invalid_status" {
			t.Errorf("bad status: %d %s", r.status, r.body)
		}
		if r := a.do(t, "GET", "/v1/feed?cursor=nonsense", tok, nil); r.status != http.StatusBadRequest {
			t.Errorf("bad cursor: %d %s", r.status, r.body)
		}
		if l := a.list(t, carolTok, ""); len(l.Data) != 1 || l.Data[0].ID != carolN {
			t.Errorf("carol's feed: %+v", l)
		}
		if l := a.list(t, bobTok, ""); len(l.Data) != 1 || l.Data[0].ID != bobN {
			t.Errorf("bob's feed: %+v", l)
		}
		storetest.Unchanged(t, before, env.Snapshot(t))

		var ra wire.FeedReadAll
		a.want(t, http.StatusOK, "POST", "/v1/feed/read-all", tok, nil).json(t, &ra)
		if ra.Updated != 5 {
			t.Fatalf("read-all updated %d", ra.Updated)
		}
		if c := a.counts(t, tok); c != (wire.FeedCounts{}) {
			t.Fatalf("after read-all: %+v", c)
		}
		if c := a.counts(t, carolTok); c != (wire.FeedCounts{Unread: 1, Unseen: 1}) {
			t.Fatalf("carol's counts moved: %+v", c)
		}
		// A state already had changes nothing (no feed log entry).
		logged := env.Count(t, "feed_log")
		a.want(t, http.StatusOK, "POST", "/v1/feed/"+ids[0]+"/read", tok, nil)
		if n := env.Count(t, "feed_log"); n != logged {
			t.Fatalf("a no-op read logged: %d -> %d", logged, n)
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
