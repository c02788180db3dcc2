// joist admin: a little progressive enhancement. Every page works without
// it; the server checks everything.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Forms with data-confirm ask before they are sent (e.g. revoking a key).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        ev.preventDefault();
      }
    });
  });

  // Buttons with data-copy copy the text of the element with that id.
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.getAttribute("data-copy"));
      if (!el || !navigator.clipboard) {
        return;
      }
      navigator.clipboard.writeText(el.textContent.trim()).then(function () {
        btn.textContent = "Copied";
      });
    });
  });

  // Buttons with data-copy-text copy that text (a shortened id, whole).
  document.querySelectorAll("button[data-copy-text]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      if (!navigator.clipboard) {
        return;
      }
      navigator.clipboard.writeText(btn.getAttribute("data-copy-text")).then(function () {
        btn.title = "Copied";
      });
    });
  });

  // The tenant checkboxes of an operator form mean nothing while
  // "All tenants" is chosen: grey them out.
  document.querySelectorAll("fieldset.scope").forEach(function (fs) {
    var choice = fs.querySelector(".tenant-choice");
    var sync = function () {
      var all = fs.querySelector("input[data-scope=all]");
      var off = !!(all && all.checked);
      choice.querySelectorAll("input").forEach(function (i) { i.disabled = off; });
    };
    fs.querySelectorAll("input[name=scope]").forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  });
});
