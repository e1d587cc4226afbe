// Progressive enhancement only: every page works without this file.
// A live character count under each reflection textarea.
(function () {
  "use strict";

  function update(counter) {
    var field = document.getElementById(counter.dataset.counterFor);
    if (!field) return;
    var max = field.maxLength > 0 ? field.maxLength : 2000;
    var left = max - field.value.length;
    counter.textContent = field.value.length + " of " + max + " characters" + (left < 100 ? " (" + left + " left)" : "");
  }

  function updateAll(root) {
    root.querySelectorAll("[data-counter-for]").forEach(update);
  }

  document.addEventListener("input", function (event) {
    if (event.target.id) {
      var counter = document.querySelector('[data-counter-for="' + event.target.id + '"]');
      if (counter) update(counter);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { updateAll(document); });
  // Rows swapped in by htmx bring fresh counters.
  document.addEventListener("htmx:afterSettle", function () { updateAll(document); });
})();

// The class dashboard's live region polls only while the instructor is not
// typing or moving through the table, and keeps the table's sideways scroll.
(function () {
  "use strict";

  window.dashboardIdle = function () {
    var active = document.activeElement;
    if (document.hidden || !active) return !document.hidden;
    if (active.matches("input[type=search], input[type=text], textarea")) return false;
    return !active.closest("#live");
  };

  // The poll skips a beat while the instructor is busy. Here rather than as an
  // hx-trigger filter ("every 5s [...]"), which htmx evaluates with eval: the
  // Content-Security-Policy forbids that.
  document.addEventListener("htmx:confirm", function (event) {
    if (event.target.id === "live" && !window.dashboardIdle()) event.preventDefault();
  });

  var scrollLeft = 0;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var wrap = document.querySelector("#live .matrix-wrap");
    if (wrap && event.detail.target.id === "live") scrollLeft = wrap.scrollLeft;
  });
  document.addEventListener("htmx:afterSettle", function () {
    var wrap = document.querySelector("#live .matrix-wrap");
    if (wrap && scrollLeft) wrap.scrollLeft = scrollLeft;
  });
})();
