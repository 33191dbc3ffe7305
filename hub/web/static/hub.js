/* ATS Hub: progressive enhancement only. Every page works without this file. */
(function () {
  "use strict";

  // Copy buttons: <button data-copy="#input-id" hidden>. Shown only when scripting works.
  function setupCopy(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var input = document.querySelector(button.getAttribute("data-copy"));
        if (!input) { return; }
        var done = function () {
          var label = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 1500);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done);
        } else {
          input.select();
          try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
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

  // Activity: while deliveries are pending, re-fetch the list fragment every few seconds.
  function setupPolling() {
    var container = document.getElementById("activity-list");
    if (!container) { return; }
    var url = container.getAttribute("data-poll-url") || window.location.pathname;
    var pending = function () {
      var list = container.querySelector("[data-pending]");
      return list && list.getAttribute("data-pending") === "true";
    };
    var tick = function () {
      if (!pending()) { return; }
      if (document.hidden || container.contains(document.activeElement)) {
        setTimeout(tick, 4000);
        return;
      }
      var open = Array.prototype.map.call(container.querySelectorAll("details[open] pre"), function (p) { return p.id; });
      var target = url + (url.indexOf("?") === -1 ? "?" : "&") + "fragment=1";
      fetch(target, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html !== null) {
            container.innerHTML = html;
            open.forEach(function (id) {
              var pre = document.getElementById(id);
              if (pre && pre.parentElement) { pre.parentElement.open = true; }
            });
            setupConfirm(container);
            refreshTimes(container);
          }
          setTimeout(tick, 4000);
        })
        .catch(function () { setTimeout(tick, 10000); });
    };
    setTimeout(tick, 4000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupCopy(document);
    setupConfirm(document);
    setupPolling();
    setInterval(function () { refreshTimes(document); }, 60000);
  });
})();
