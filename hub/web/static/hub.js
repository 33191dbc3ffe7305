/* ATS Hub: progressive enhancement only. Every page works without this file. */
(function () {
  "use strict";

  // One polite status message for what hub.js does by itself (a list refreshed, a copy made): a
  // visually hidden role=status element, there from the start so that screen readers follow it.
  var announcer = null;

  function announce(text) {
    if (!announcer) { return; }
    announcer.textContent = "";  // the same words twice are still a change, read again
    setTimeout(function () { announcer.textContent = text; }, 100);
  }

  function setupAnnouncer() {
    announcer = document.createElement("div");
    announcer.id = "live-announcer";
    announcer.className = "visually-hidden";
    announcer.setAttribute("role", "status");
    document.body.appendChild(announcer);
  }

  // Copy buttons: <button data-copy="#input-id" hidden>. Shown only when scripting works. The
  // button says what happened, and so does the status message (a focused button's new text is not
  // read out): "Copied", or, when the browser refused (no clipboard, a permission denied), that it
  // could not, with the text selected in its field, to be copied by hand.
  function setupCopy(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
      var label = button.textContent;
      var timer = null;
      var say = function (text, message, ms) {
        button.textContent = text;
        announce(message);
        clearTimeout(timer);
        timer = setTimeout(function () { button.textContent = label; }, ms);
      };
      button.addEventListener("click", function () {
        var input = document.querySelector(button.getAttribute("data-copy"));
        if (!input) { return; }
        var done = function () { say("Copied", "Copied to the clipboard.", 1500); };
        var refused = function () {
          input.focus();
          input.select();
          say("Not copied", "Could not copy: the text is selected, copy it yourself.", 4000);
        };
        if (navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done, refused);
        } else {
          input.select();
          var copied = false;
          try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
          if (copied) { done(); } else { refused(); }
        }
      });
    });
  }

  // Confirmation for destructive buttons: <button data-confirm="Really?">.
  function setupConfirm(root) {
    root.querySelectorAll("button[data-confirm]").forEach(function (button) {
      var form = button.form;
      if (!form || form.dataset.confirmBound) { return; }
      form.dataset.confirmBound = "1";
      form.addEventListener("submit", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }

  // Relative times: <time datetime="..." data-relative>5 minutes ago</time>, refreshed every minute.
  function relative(date) {
    var seconds = (Date.now() - date.getTime()) / 1000;
    var future = seconds < 0;
    seconds = Math.abs(seconds);
    if (seconds < 45) { return "just now"; }
    var units = [[3600, 60, "minute"], [86400, 3600, "hour"], [86400 * 30, 86400, "day"], [86400 * 365, 86400 * 30, "month"]];
    var text = null;
    for (var i = 0; i < units.length; i++) {
      if (seconds < units[i][0]) {
        var n = Math.max(1, Math.round(seconds / units[i][1]));
        text = n + " " + units[i][2] + (n === 1 ? "" : "s");
        break;
      }
    }
    if (text === null) {
      var years = Math.max(1, Math.round(seconds / (86400 * 365)));
      text = years + " year" + (years === 1 ? "" : "s");
    }
    return future ? "in " + text : text + " ago";
  }

  function refreshTimes(root) {
    root.querySelectorAll("time[data-relative]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date.getTime())) { el.textContent = relative(date); }
    });
  }

  // Live lists: <div id="..." data-poll-url="/path?filters"> whose content is the page's fragment
  // (the same URL with fragment=1, served by the same view, so the same permissions and visibility
  // apply). The fragment's root says data-pending="true" while deliveries are pending: then it is
  // re-fetched every 4 seconds, otherwise every 20. Nothing is replaced while the user is in it,
  // while one of its forms is busy (its answer is awaited: the disabled button lost the focus, and
  // an idle copy of the form would let it be sent again), while the tab is hidden, or when nothing
  // changed. The lists are not live regions (a screen reader would read a whole list again at each
  // refresh): once its text changed (not only a relative time), one short status message says so.
  var LIVE = {
    "activity-list": "The activity list was updated.",
    "candidates-list": "The candidates list was updated.",
    "candidate-live": "This candidate's details were updated."
  };

  // what a screen reader would read of an element, its relative times left out
  function gist(element) {
    var copy = element.cloneNode(true);
    copy.querySelectorAll("time").forEach(function (time) { time.textContent = ""; });
    return copy.textContent.replace(/\s+/g, " ").trim();
  }

  function setupPolling() {
    Object.keys(LIVE).forEach(function (id) {
      var container = document.getElementById(id);
      if (container && container.hasAttribute("data-poll-url")) { poll(container, LIVE[id]); }
    });
  }

  var LOST = {};  // a refresh's answer saying that the user may no longer see the page

  function poll(container, message) {
    var url = container.getAttribute("data-poll-url") || window.location.pathname;
    var target = url + (url.indexOf("?") === -1 ? "?" : "&") + "fragment=1";
    var last = null;
    document.querySelectorAll("[data-live-indicator]").forEach(function (el) { el.hidden = false; });
    var pending = function () {
      var root = container.querySelector("[data-pending]");
      return !!root && root.getAttribute("data-pending") === "true";
    };
    // the focus on what a filter found (focusResult) is no use of the list: it refreshes, and the
    // focus goes to the new count (a control, a form under way, would be lost by a refresh)
    var resultFocused = function () {
      var el = document.activeElement;
      return !!el && el.id && container.contains(el) && el.hasAttribute("data-focus-result");
    };
    var inUse = function () {
      return (container.contains(document.activeElement) && !resultFocused()) ||
        !!container.querySelector("form[aria-busy=true]");
    };
    var next = function (ms) { setTimeout(tick, ms || (pending() ? 4000 : 20000)); };
    var tick = function () {
      if (document.hidden || inUse()) { next(4000); return; }
      fetch(target, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          // the user may no longer see this page: taken off the posting (404), given another role
          // (403), signed out (sent to the sign-in page). Load it again, so that it shows the hub's
          // answer instead of what they may no longer see. A 503 (a Limited Team Member's postings
          // cannot be read now) keeps what the page shows, as any other failed refresh does.
          if (response.redirected || response.status === 401 || response.status === 403 || response.status === 404) {
            return LOST;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === LOST) {
            if (inUse()) { next(4000); } else { window.location.reload(); }
            return;
          }
          if (html !== null && html !== last && !inUse()) {
            var open = Array.prototype.map.call(container.querySelectorAll("details[open] pre"), function (p) { return p.id; });
            last = html;
            var before = gist(container);
            var refocus = resultFocused() ? document.activeElement.id : null;
            container.innerHTML = html;
            var again = refocus ? document.getElementById(refocus) : null;
            if (again) {
              if (!again.hasAttribute("tabindex") && again.tabIndex < 0) { again.setAttribute("tabindex", "-1"); }
              again.focus({ preventScroll: true });
            }
            if (gist(container) !== before) { announce(message); }
            open.forEach(function (preId) {
              var pre = document.getElementById(preId);
              if (pre && pre.parentElement) { pre.parentElement.open = true; }
            });
            setupConfirm(container);
            setupBusy(container);
            refreshTimes(container);
          }
          next();
        })
        .catch(function () { next(20000); });
    };
    next();
  }

  // A number input's message from the check below, gone once the field holds a number again.
  function clearNumberError(input) {
    var id = (input.id || input.name) + "-number-error";
    var old = document.getElementById(id);
    if (!old) { return; }
    old.remove();
    var kept = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (ref) {
      return ref && ref !== id;
    });
    if (kept.length) { input.setAttribute("aria-describedby", kept.join(" ")); } else { input.removeAttribute("aria-describedby"); }
    // the hub's own error for the field (from the last save) still stands: it stays marked
    if (!document.getElementById(input.id + "-error")) {
      input.removeAttribute("aria-invalid");
      var field = input.closest(".field");
      if (field) { field.classList.remove("field--invalid"); }
    }
  }

  // Number inputs the browser could not read ("1e", "--"): Chromium sends such a field empty, and
  // an empty optional setting keeps what is stored, so the save would say "saved" and change
  // nothing. Stop the submit instead, and say which field holds something that is not a number, as
  // the hub's own field errors do. Bound before the busy forms, which skip a prevented submit.
  function setupNumberCheck(root) {
    root.querySelectorAll("form").forEach(function (form) {
      if (form.dataset.numberBound || !form.querySelector("input[type=number]")) { return; }
      form.dataset.numberBound = "1";
      form.addEventListener("submit", function (event) {
        var first = null;
        form.querySelectorAll("input[type=number]").forEach(function (input) {
          var id = (input.id || input.name) + "-number-error";
          clearNumberError(input);
          if (!input.validity.badInput) { return; }
          var message = document.createElement("p");
          message.className = "field-error";
          message.id = id;
          message.textContent = "Enter a number" + (input.step === "1" ? " (a whole number, like 10)." : ", like 10 or 0.5.");
          input.insertAdjacentElement("afterend", message);
          input.setAttribute("aria-invalid", "true");
          var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
          if (described.indexOf(id) < 0) { described.unshift(id); input.setAttribute("aria-describedby", described.join(" ")); }
          var field = input.closest(".field");
          if (field) { field.classList.add("field--invalid"); }
          first = first || input;
        });
        if (first) {
          event.preventDefault();
          // nothing was saved: a "saved" message left from the last save must not say otherwise
          document.querySelectorAll(".alert--success").forEach(function (alert) { alert.remove(); });
          first.focus();
        }
      });
      form.querySelectorAll("input[type=number]").forEach(function (input) {
        input.addEventListener("input", function () { if (!input.validity.badInput) { clearNumberError(input); } });
      });
    });
  }

  // Values to pick from: <input data-suggest-url data-suggest-list="id" data-suggest-note="id">.
  // The list is read when the field is first focused, never on page load (it is a call to the
  // vendor), put in a <datalist>, and the note says how many there are and names the one the
  // field holds. Any value can still be typed; a name or email typed instead of picked is sent as
  // the id of the one entry it matches (two or more: as typed). A failed read says so and is
  // tried again on the next focus.
  function setupSuggestions(root) {
    root.querySelectorAll("input[data-suggest-url]").forEach(function (input) {
      if (input.dataset.suggestBound) { return; }
      input.dataset.suggestBound = "1";
      var note = document.getElementById(input.getAttribute("data-suggest-note"));
      var labels = null;
      var loading = false;
      var known = function (value) { return labels !== null && Object.prototype.hasOwnProperty.call(labels, value); };
      // while typing, only a value that is an id names its entry; "not among them" waits for the
      // field to be left, not to flag every half-typed name
      var say = function (left) {
        if (!note || labels === null) { return; }
        var count = Object.keys(labels).length;
        var text = "Pick one of the " + count + " user" + (count === 1 ? "" : "s") +
          " listed as you type (a name or an email finds them)";
        var value = input.value.trim();
        if (value && known(value)) { text += "; now: " + labels[value]; }
        else if (value && left) { text += "; now: an id not among them"; }
        note.textContent = text + ".";
      };
      var matching = function (value) {
        var wanted = value.toLowerCase();
        return Object.keys(labels).filter(function (id) { return labels[id].toLowerCase().indexOf(wanted) >= 0; });
      };
      if (input.form) {
        input.form.addEventListener("submit", function () {
          var value = input.value.trim();
          if (labels === null || !value || known(value)) { return; }
          var found = matching(value);
          if (found.length === 1) { input.value = found[0]; }
        });
      }
      var failed = function (message) {
        if (note) { note.textContent = "The list of users could not be read (" + message + "); the id can still be typed."; }
      };
      var load = function () {
        if (labels !== null || loading) { return; }
        loading = true;
        if (note) { note.textContent = "Reading the list of users…"; }
        fetch(input.getAttribute("data-suggest-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (response) {
            return response.json().then(function (body) { return { ok: response.ok, body: body || {} }; });
          })
          .then(function (answer) {
            if (!answer.ok || !Array.isArray(answer.body.items)) {
              failed(answer.body.error && answer.body.error.message ? answer.body.error.message : "no list came back");
              return;
            }
            var list = document.createElement("datalist");
            list.id = input.getAttribute("data-suggest-list");
            labels = {};
            answer.body.items.forEach(function (item) {
              var option = document.createElement("option");
              option.value = item.value;
              option.label = item.label;
              option.textContent = item.label;
              list.appendChild(option);
              labels[item.value] = item.label;
            });
            input.insertAdjacentElement("afterend", list);
            input.setAttribute("list", list.id);
            say(true);
          })
          .catch(function () { failed("the hub did not answer"); })
          .then(function () { loading = false; });
      };
      input.addEventListener("focus", load);
      input.addEventListener("input", function () { say(false); });
      input.addEventListener("change", function () { say(true); });
    });
  }

  // Busy forms: <form data-busy-label="Testing…">. On submit (unless a confirmation was declined)
  // the submit button says the label, is disabled and the form is aria-busy, so a slow vendor call
  // cannot be sent twice. The status message says the label too: a focused button's new text is not
  // read out, and a slow vendor call left a screen reader silent until the next page. The button is
  // disabled after the submit event, so its name and value are still sent. Coming back to the page
  // (back button) restores it.
  function setupBusy(root) {
    root.querySelectorAll("form[data-busy-label]").forEach(function (form) {
      if (form.dataset.busyBound) { return; }
      form.dataset.busyBound = "1";
      form.addEventListener("submit", function (event) {
        if (event.defaultPrevented) { return; }
        if (form.getAttribute("aria-busy") === "true") { event.preventDefault(); return; }
        var button = event.submitter || form.querySelector("button[type=submit], button:not([type]), input[type=submit]");
        form.setAttribute("aria-busy", "true");
        if (!button) { return; }
        var label = form.getAttribute("data-busy-label");
        var isInput = button.tagName === "INPUT";
        button.setAttribute("data-idle-label", isInput ? button.value : button.innerHTML);
        button.setAttribute("aria-disabled", "true");
        announce(label);
        setTimeout(function () {
          button.disabled = true;
          if (isInput) { button.value = label; } else { button.textContent = label; }
        }, 0);
      });
    });
  }

  function resetBusy() {
    document.querySelectorAll("form[aria-busy=true]").forEach(function (form) {
      form.removeAttribute("aria-busy");
      form.querySelectorAll("[data-idle-label]").forEach(function (button) {
        var idle = button.getAttribute("data-idle-label");
        if (button.tagName === "INPUT") { button.value = idle; } else { button.innerHTML = idle; }
        button.removeAttribute("data-idle-label");
        button.removeAttribute("aria-disabled");
        button.disabled = false;
      });
    });
  }

  // After a rejected form, keyboard and screen reader users start at what went wrong: the error
  // summary (<div data-focus-on-load tabindex="-1">) where the page has one, otherwise the form's
  // first field marked aria-invalid="true" (its message is read with it, via aria-describedby).
  function focusErrors() {
    var summary = document.querySelector("[data-focus-on-load]");
    if (summary) {
      if (!summary.hasAttribute("tabindex")) { summary.setAttribute("tabindex", "-1"); }
      summary.focus();
      return true;
    }
    var field = document.querySelector("form [aria-invalid=true]");
    if (field && !field.disabled) { field.focus(); return true; }
    return false;
  }

  // After an action (the page it redirected to), keyboard and screen reader users start at what it
  // did: the messages at the top of the page (#flashes), or the card with a secret shown only once
  // (<div data-focus-result>), whichever comes first. A status there when the page loads is not
  // read out by itself, and the focus was left at the top of the page. The same after a GET form
  // (a list's filters, the attach form's "Show stages"): the page marks data-focus-result what it
  // found (the result count, the empty state, the second step's first field), only when it was
  // asked for with a query, never on a plain visit. Not where a field asks for the focus
  // (autofocus: the sign-in form). A field keeps its place in the Tab order (no tabindex="-1").
  function focusResult() {
    if (document.querySelector("[autofocus]")) { return; }
    var result = document.querySelector("#flashes, [data-focus-result]");
    if (!result) { return; }
    if (!result.hasAttribute("tabindex") && result.tabIndex < 0) { result.setAttribute("tabindex", "-1"); }
    result.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupAnnouncer();
    setupCopy(document);
    setupConfirm(document);
    setupNumberCheck(document);
    setupSuggestions(document);
    setupBusy(document);
    if (!focusErrors()) { focusResult(); }
    setupPolling();
    setInterval(function () { refreshTimes(document); }, 60000);
  });
  window.addEventListener("pageshow", function (event) { if (event.persisted) { resetBusy(); } });
})();
