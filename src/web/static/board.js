// The TV view (docs/huddle.md): turns the agenda's pages on a timer and with a presenter
// clicker's keys, trims lists to what fits the screen ("+ N more"), runs the huddle's timer and
// clock, and moves on to the next board of the rotation after the last page. Every page is in
// the document; without this script a <noscript> refresh turns them one request at a time.
(function () {
  "use strict";
  var body = document.body;
  var pages = Array.prototype.slice.call(document.querySelectorAll(".tv-page"));
  var clock = document.getElementById("clock");

  function two(n) { return String(n).padStart(2, "0"); }
  function tickClock() {
    if (!clock) return;
    var d = new Date();
    clock.textContent = two(d.getHours()) + ":" + two(d.getMinutes());
  }
  tickClock();
  setInterval(tickClock, 10000);
  if (!pages.length) return;

  var pageSeconds = Number(body.dataset.pageSeconds) || 20;
  var refreshSeconds = Number(body.dataset.refreshSeconds) || 300;
  var afterLast = body.dataset.afterLast || location.href;
  var huddleId = body.dataset.huddleId || "";
  var started = Number(body.dataset.huddleStarted) || 0;
  var minutes = Number(body.dataset.huddleMinutes) || 10;
  var loadedAt = Date.now();
  var agenda = Array.prototype.slice.call(document.querySelectorAll(".agenda li"));
  var pageno = document.getElementById("pageno");
  var current = Math.max(0, pages.findIndex(function (p) { return p.classList.contains("current"); }));
  var turn = null;

  // The pages a huddle showed, kept across reloads (a mark on the safety cross reloads the page).
  var shownKey = "gemba-huddle-pages-" + huddleId;
  function remember(name) {
    if (!huddleId) return;
    var shown = (sessionStorage.getItem(shownKey) || "").split(",").filter(Boolean);
    if (shown.indexOf(name) < 0) shown.push(name);
    sessionStorage.setItem(shownKey, shown.join(","));
    var field = document.getElementById("huddle-pages");
    if (field) field.value = shown.join(",");
  }

  // Hides the last rows of each list on the page until the list fits its box, and says how many
  // more there are.
  function fit(page) {
    page.querySelectorAll(".fit").forEach(function (list) {
      var rows = Array.prototype.slice.call(list.children);
      rows.forEach(function (r) { r.hidden = false; });
      var box = list.closest(".panel, .lane, .tv-page") || list.parentElement;
      var shown = rows.length;
      while (shown > 1 && box.scrollHeight > box.clientHeight + 1) {
        shown -= 1;
        rows[shown].hidden = true;
      }
      var total = Number(list.dataset.total) || rows.length;
      var more = box.querySelector(".more");
      if (total > shown) {
        if (!more) {
          more = document.createElement("div");
          more.className = "more";
          box.appendChild(more);
        }
        more.textContent = "+ " + (total - shown) + " more";
        // The line itself may not fit: give up one more row for it.
        if (box.scrollHeight > box.clientHeight + 1 && shown > 1) {
          shown -= 1;
          rows[shown].hidden = true;
          more.textContent = "+ " + (total - shown) + " more";
        }
      } else if (more) {
        more.remove();
      }
    });
  }

  function show(i) {
    current = i;
    pages.forEach(function (p, j) { p.classList.toggle("current", j === i); });
    agenda.forEach(function (li, j) {
      li.classList.toggle("here", j === i);
      var a = li.querySelector("a");
      if (a) { if (j === i) a.setAttribute("aria-current", "step"); else a.removeAttribute("aria-current"); }
    });
    if (pageno) pageno.textContent = String(i + 1);
    var name = pages[i].dataset.page;
    var url = new URL(location.href);
    url.searchParams.set("page", name);
    history.replaceState(null, "", url);
    fit(pages[i]);
    remember(name);
    schedule();
  }

  function pageUrl(i) {
    var url = new URL(location.href);
    url.searchParams.set("page", pages[i].dataset.page);
    return url.toString();
  }

  function next() {
    if (current + 1 < pages.length) {
      // Outside a huddle, fresh data at least every refresh_seconds, at a page turn.
      if (!huddleId && Date.now() - loadedAt > refreshSeconds * 1000) {
        location.href = pageUrl(current + 1);
        return;
      }
      show(current + 1);
    } else if (!huddleId) {
      location.href = afterLast;
    }
  }
  function prev() { if (current > 0) show(current - 1); }

  // In a huddle the presenter sets the pace: pages turn only by hand, and the TV stays here.
  function schedule() {
    if (turn) clearTimeout(turn);
    turn = huddleId ? null : setTimeout(next, pageSeconds * 1000);
  }

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
    if (e.key === "PageDown" || e.key === "ArrowRight" || e.key === "ArrowDown" || e.key === " " || e.key === "Spacebar") {
      e.preventDefault();
      next();
    } else if (e.key === "PageUp" || e.key === "ArrowLeft" || e.key === "ArrowUp") {
      e.preventDefault();
      prev();
    }
  });
  agenda.forEach(function (li, j) {
    var a = li.querySelector("a");
    if (a) a.addEventListener("click", function (e) { e.preventDefault(); show(j); });
  });
  window.addEventListener("resize", function () { fit(pages[current]); });

  // The huddle's timer against its time box: amber in the last two minutes, red past it.
  var timer = document.getElementById("timer");
  if (timer && started) {
    var shown = timer.querySelector(".t");
    var tick = function () {
      var s = Math.max(0, Math.floor((Date.now() - started) / 1000));
      shown.textContent = Math.floor(s / 60) + ":" + two(s % 60);
      var box = minutes * 60;
      var state = s > box ? "over" : (s >= box - 120 ? "closing" : "running");
      timer.className = "timer " + state;
    };
    tick();
    setInterval(tick, 1000);
  }

  show(current);
})();
