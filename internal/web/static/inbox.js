// Progressive enhancement: keep the countdowns current without a reload.
(function () {
  function fmt(ms) {
    var over = ms < 0; if (over) ms = -ms;
    var m = Math.round(ms / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
    var t = d > 0 ? d + "d " + h + "h" : h > 0 ? h + "h " + (mm < 10 ? "0" : "") + mm + "m" : mm + "m";
    return over ? "overdue by " + t : "in " + t;
  }
  function tick() {
    var els = document.querySelectorAll("[data-deadline]");
    for (var i = 0; i < els.length; i++) {
      var ms = Date.parse(els[i].getAttribute("data-deadline")) - Date.now();
      els[i].textContent = fmt(ms);
      els[i].classList.toggle("overdue", ms < 0);
    }
  }
  window.batonTick = tick; // for the browser test
  setInterval(tick, 30000);
})();
