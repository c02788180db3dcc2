// notify.js: joist's embeddable notification bell. No dependencies.
//
//   <div id="bell"></div>
//   <script src="https://joist.example.com/notify.js"></script>
//   <script>
//     JoistNotify.mount(document.getElementById("bell"), {
//       baseUrl: "https://joist.example.com",
//       getToken: async () => (await fetch("/my-app/joist-token")).text(),
//     });
//   </script>
//
// getToken returns a contact token (your server mints it with
// POST /v1/contacts/{contact}/tokens or signs it with the feed secret);
// it is called again when the token expires. The page's origin must be
// listed in the tenant's allowed_origins (PUT /v1/notification-settings).
(function () {
  "use strict";

  var CSS =
    ".jn-root{position:relative;display:inline-block;font:14px/1.4 system-ui,sans-serif}" +
    ".jn-bell{position:relative;background:none;border:0;cursor:pointer;padding:4px;font-size:22px;line-height:1}" +
    ".jn-badge{position:absolute;top:-2px;right:-4px;min-width:18px;height:18px;padding:0 4px;border-radius:9px;" +
    "background:#d93025;color:#fff;font-size:11px;font-weight:600;line-height:18px;text-align:center;box-sizing:border-box}" +
    ".jn-badge[hidden]{display:none}" +
    ".jn-panel{position:absolute;right:0;top:100%;z-index:1000;width:320px;max-height:420px;overflow:auto;background:#fff;" +
    "color:#222;border:1px solid #ddd;border-radius:8px;box-shadow:0 6px 24px rgba(0,0,0,.15)}" +
    ".jn-panel[hidden]{display:none}" +
    ".jn-head{display:flex;justify-content:space-between;align-items:center;padding:8px 12px;border-bottom:1px solid #eee}" +
    ".jn-head button{background:none;border:0;color:#1a73e8;cursor:pointer;font:inherit}" +
    ".jn-item{display:block;padding:8px 12px;border-bottom:1px solid #f2f2f2;cursor:pointer;color:inherit;text-decoration:none}" +
    ".jn-item.jn-unread{background:#f0f6ff}.jn-item.jn-unread .jn-title{font-weight:600}" +
    ".jn-body{color:#555;font-size:13px}.jn-empty{padding:16px 12px;color:#777}";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text; // never innerHTML: content is the tenant's
    return e;
  }

  function Bell(root, opts) {
    this.base = (opts.baseUrl || "").replace(/\/+$/, "");
    this.getToken = opts.getToken;
    this.limit = opts.limit || 20;
    this.token = null;
    this.lastId = null;
    this.items = [];
    this.es = null;
    this.retry = 1000;
    this.build(root);
    this.start();
  }

  Bell.prototype.build = function (root) {
    if (!document.getElementById("jn-style")) {
      var st = el("style");
      st.id = "jn-style";
      st.textContent = CSS;
      document.head.appendChild(st);
    }
    var self = this;
    this.root = el("div", "jn-root");
    this.button = el("button", "jn-bell", "\uD83D\uDD14");
    this.button.type = "button";
    this.button.setAttribute("aria-label", "Notifications");
    this.badge = el("span", "jn-badge");
    this.badge.hidden = true;
    this.button.appendChild(this.badge);
    this.panel = el("div", "jn-panel");
    this.panel.hidden = true;
    var head = el("div", "jn-head");
    head.appendChild(el("strong", null, "Notifications"));
    this.readAllBtn = el("button", "jn-readall", "Mark all read");
    this.readAllBtn.type = "button";
    head.appendChild(this.readAllBtn);
    this.list = el("div", "jn-list");
    this.panel.appendChild(head);
    this.panel.appendChild(this.list);
    this.root.appendChild(this.button);
    this.root.appendChild(this.panel);
    root.appendChild(this.root);
    this.button.addEventListener("click", function () {
      self.panel.hidden = !self.panel.hidden;
      if (!self.panel.hidden) self.load();
    });
    this.readAllBtn.addEventListener("click", function () {
      self.call("POST", "/v1/feed/read-all").then(function () { self.load(); });
    });
  };

  // fresh gets a token from the app, again when the current one is
  // within a minute of its expiry.
  Bell.prototype.fresh = function (force) {
    var self = this;
    if (!force && this.token && this.exp && Date.now() < this.exp - 60000) return Promise.resolve(this.token);
    return Promise.resolve(this.getToken()).then(function (t) {
      self.token = String(t).trim();
      try {
        var p = JSON.parse(atob(self.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
        self.exp = p.exp * 1000;
      } catch (e) {
        self.exp = Date.now() + 5 * 60000;
      }
      return self.token;
    });
  };

  Bell.prototype.call = function (method, path, retried) {
    var self = this;
    return this.fresh(retried).then(function (t) {
      return fetch(self.base + path, { method: method, headers: { Authorization: "Bearer " + t } });
    }).then(function (r) {
      if (r.status === 401 && !retried) return self.call(method, path, true);
      if (!r.ok) throw new Error("joist: " + method + " " + path + ": " + r.status);
      return r.json();
    });
  };

  Bell.prototype.setCounts = function (c) {
    this.badge.textContent = c.unread > 99 ? "99+" : String(c.unread);
    this.badge.hidden = !c.unread;
    this.button.setAttribute("aria-label", "Notifications, " + c.unread + " unread");
  };

  Bell.prototype.load = function () {
    var self = this;
    return this.call("GET", "/v1/feed?limit=" + this.limit).then(function (page) {
      self.items = page.data;
      self.render();
    });
  };

  Bell.prototype.render = function () {
    var self = this;
    this.list.textContent = "";
    if (!this.items.length) {
      this.list.appendChild(el("div", "jn-empty", "No notifications"));
      return;
    }
    this.items.forEach(function (n) {
      var a = el(n.url ? "a" : "div", "jn-item" + (n.read_at ? "" : " jn-unread"));
      a.setAttribute("data-id", n.id);
      if (n.url && /^(https?:|\/)/.test(n.url)) a.href = n.url;
      a.appendChild(el("div", "jn-title", n.title));
      if (n.body) a.appendChild(el("div", "jn-body", n.body));
      a.addEventListener("click", function () {
        if (!n.read_at) self.call("POST", "/v1/feed/" + encodeURIComponent(n.id) + "/read");
      });
      self.list.appendChild(a);
    });
  };

  Bell.prototype.upsert = function (n) {
    var i = this.items.findIndex(function (x) { return x.id === n.id; });
    if (n.archived_at) {
      if (i >= 0) this.items.splice(i, 1);
    } else if (i >= 0) {
      this.items[i] = n;
    } else {
      this.items.unshift(n);
      if (this.items.length > this.limit) this.items.pop();
    }
    if (!this.panel.hidden) this.render();
  };

  // start opens the stream. EventSource reconnects by itself with
  // Last-Event-ID; when the token expires the stream is reopened with a
  // fresh token and ?last_event_id=, so nothing is missed.
  Bell.prototype.start = function () {
    var self = this;
    this.fresh(false).then(function (t) {
      var url = self.base + "/v1/feed/stream?token=" + encodeURIComponent(t);
      if (self.lastId != null) url += "&last_event_id=" + encodeURIComponent(self.lastId);
      var es = new EventSource(url);
      self.es = es;
      var seen = function (e) { if (e.lastEventId) self.lastId = e.lastEventId; self.retry = 1000; };
      es.addEventListener("counts", function (e) { seen(e); self.setCounts(JSON.parse(e.data)); });
      es.addEventListener("notification", function (e) { seen(e); self.upsert(JSON.parse(e.data)); });
      es.addEventListener("state", function (e) { seen(e); self.upsert(JSON.parse(e.data)); });
      es.onerror = function () {
        // A closed stream with an expired token (or a refused one) does
        // not recover by itself: reopen with a fresh token.
        if (es.readyState === EventSource.CLOSED || (self.exp && Date.now() >= self.exp - 60000)) {
          es.close();
          var wait = self.retry;
          self.retry = Math.min(self.retry * 2, 30000);
          setTimeout(function () { self.start(); }, wait);
        }
      };
      // Reopen a little before the token expires.
      clearTimeout(self.renew);
      if (self.exp) {
        self.renew = setTimeout(function () { es.close(); self.start(); }, Math.max(self.exp - Date.now() - 30000, 5000));
      }
    }).catch(function () {
      setTimeout(function () { self.start(); }, self.retry);
      self.retry = Math.min(self.retry * 2, 30000);
    });
  };

  Bell.prototype.unmount = function () {
    clearTimeout(this.renew);
    if (this.es) this.es.close();
    this.root.remove();
  };

  window.JoistNotify = {
    // mount draws the bell in element and keeps it live; it returns an
    // object with unmount().
    mount: function (element, opts) {
      if (!opts || typeof opts.getToken !== "function") throw new Error("JoistNotify.mount: opts.getToken is required");
      return new Bell(element, opts);
    },
  };
})();
