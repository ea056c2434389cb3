// "Leave quickly": without JavaScript the button is an ordinary link. With it, leaving replaces
// this page in the history (Back does not return here) and Escape pressed twice also leaves.
(function () {
  "use strict";
  var link = document.getElementById("leave-quickly");
  if (!link) { return; }
  var target = link.getAttribute("href");
  var lastEscape = 0;

  function leave(event) {
    if (event) { event.preventDefault(); }
    document.body.style.display = "none";
    window.location.replace(target);
  }

  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var now = Date.now();
    if (now - lastEscape < 1000) { leave(event); }
    lastEscape = now;
  });
}());
