// A button with data-copy="<id>" copies the text of the element with that id,
// and says so in the [data-copy-status] region beside it, which screen readers
// announce. Where the clipboard is out of reach (a page not served over HTTPS,
// a browser that refuses), the text is selected instead, ready for Ctrl+C.
(function () {
  "use strict";

  function select(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentElement.querySelector("[data-copy-status]");
    if (!source) return;
    function say(text) {
      if (status) status.textContent = text;
    }
    function fallBack() {
      select(source);
      say("Selected: press Ctrl+C (⌘C on a Mac) to copy.");
    }
    say("");
    if (!navigator.clipboard || !window.isSecureContext) {
      fallBack();
      return;
    }
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      say("Copied.");
    }, fallBack);
  }

  // Loaded with defer: the page is parsed by now.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var holder = button.closest(".secret__copy");
    if (holder) holder.hidden = false;
    button.addEventListener("click", function () {
      copy(button);
    });
  });
})();
