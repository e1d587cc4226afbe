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

// The GPU set-up: copy buttons on every command, the shell switch in place, a
// question before leaving a token that was not copied, and no polling from a
// hidden tab. Without this file: the commands are selectable text, the shell
// links reload the page, polling goes on.
(function () {
  "use strict";

  var copied = false;
  var shellChosen = null;
  var userOpened = {};  // details the student opened or closed, by id: kept across refreshes

  function showCopyButtons(root) {
    root.querySelectorAll(".copy-button[hidden]").forEach(function (button) {
      if (navigator.clipboard) button.hidden = false;
    });
  }

  function chooseShell(shell) {
    shellChosen = shell;
    document.querySelectorAll(".command[data-shell]").forEach(function (block) {
      block.hidden = block.dataset.shell !== shell;
    });
    document.querySelectorAll("[data-shell-choice]").forEach(function (link) {
      if (link.dataset.shellChoice === shell) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
  }

  function keepFolding() {
    Object.keys(userOpened).forEach(function (id) {
      var details = document.getElementById(id);
      if (details) details.open = userOpened[id];
    });
    // A token shown once is never folded away by a refresh.
    document.querySelectorAll("[data-token-once]").forEach(function (box) {
      for (var d = box.closest("details"); d; d = d.parentElement.closest("details")) d.open = true;
    });
  }

  document.addEventListener("click", function (event) {
    var summary = event.target.closest("summary");
    if (summary && summary.parentElement.id) {
      userOpened[summary.parentElement.id] = !summary.parentElement.open;
    }
    var button = event.target.closest(".copy-button");
    if (button) {
      var code = document.getElementById(button.dataset.copy);
      navigator.clipboard.writeText(code.textContent).then(function () {
        if (code.closest("[data-token-once]")) copied = true;
        button.firstChild.textContent = "Copied";
        setTimeout(function () { button.firstChild.textContent = "Copy"; }, 2000);
      });
      return;
    }
    var choice = event.target.closest("[data-shell-choice]");
    if (choice) {
      event.preventDefault();
      chooseShell(choice.dataset.shellChoice);
      history.replaceState(null, "", choice.href);
      return;
    }
    // The tick square opens the tick form and puts the focus on its scale.
    var tick = event.target.closest("a.tick");
    if (tick) {
      var target = document.getElementById(tick.hash.slice(1));
      var form = target && target.closest("details");
      if (form) {
        event.preventDefault();
        form.open = true;
        if (form.id) userOpened[form.id] = true;
        var radio = form.querySelector("input:checked") || form.querySelector("input[type=radio]");
        if (radio) radio.focus();
      }
    }
  });

  // Copying by hand (select and Ctrl+C) counts too.
  document.addEventListener("copy", function () {
    var selection = document.getSelection();
    var node = selection && selection.anchorNode;
    var element = node && (node.nodeType === 1 ? node : node.parentElement);
    if (element && element.closest("[data-token-once]")) copied = true;
  });

  window.addEventListener("beforeunload", function (event) {
    if (document.querySelector("[data-token-once]") && !copied) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  // Leaving through the set-up's own forms (rotate, run) is no accident.
  document.addEventListener("submit", function (event) {
    if (event.target.closest(".gpu-panel")) copied = true;
  });

  // A poll skips its beat while the tab is hidden, or while the student is filling in
  // the tick form of the row it would refresh (the refresh would drop what they typed).
  document.addEventListener("htmx:confirm", function (event) {
    var panel = event.target.closest(".gpu-panel");
    if (!panel || event.detail.verb !== "get") return;
    var row = panel.closest(".objective");
    var active = document.activeElement;
    var typing = row && active && row.contains(active) && active.closest("form.assess, .assess");
    if (document.hidden || typing) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () { showCopyButtons(document); });
  document.addEventListener("htmx:afterSettle", function () {
    showCopyButtons(document);
    if (shellChosen) chooseShell(shellChosen);  // a refreshed panel keeps the chosen shell
    keepFolding();
  });
})();
