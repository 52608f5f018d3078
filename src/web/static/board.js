// The kiosk clock: the page works without it (the server renders the time at each refresh).
(function () {
  var el = document.getElementById("clock");
  if (!el) return;
  function tick() {
    var d = new Date();
    el.textContent = String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }
  setInterval(tick, 10000);
})();
