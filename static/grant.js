// Granting access re-wraps report keys in batches. Without JavaScript the admin presses
// "Continue" for each batch; with it, the next batch starts by itself.
(function () {
  "use strict";
  var form = document.getElementById("grant-continue");
  if (form) { window.setTimeout(function () { form.submit(); }, 300); }
}());
