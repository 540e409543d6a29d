/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";
  // Drag and drop onto the upload field: the dropped files become the input's files.
  document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]");
    var list = zone.querySelector("[data-filelist]");
    if (!input) { return; }
    function show() {
      if (!list) { return; }
      list.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
    }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragover"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
      }
    });
    input.addEventListener("change", show);
  });
  // Pages waiting for a verdict reload themselves a limited number of times.
  var waiting = document.querySelector("[data-autorefresh]");
  if (waiting) {
    var seconds = parseInt(waiting.getAttribute("data-autorefresh"), 10) || 3;
    var url = new URL(waiting.getAttribute("data-url") || window.location.href, window.location.href);
    var round = parseInt(url.searchParams.get("round") || "0", 10);
    if (round < 20) {
      window.setTimeout(function () {
        url.searchParams.set("round", String(round + 1));
        window.location.replace(url.toString());
      }, seconds * 1000);
    }
  }
  // Confirm destructive actions (reject) when the button asks for it.
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
}());
