// Draws every figure the server placed on the page (a [data-figure] element
// naming the json_script block that holds it), and again whenever htmx swaps
// in new ones: the ledger's poll and the range switch replace them in place.
(function () {
  "use strict";

  function draw(element) {
    var source = document.getElementById(element.dataset.figure);
    if (!source) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    Plotly.react(element, figure.data, figure.layout, figure.config);
  }

  htmx.onLoad(function (root) {
    if (root.matches && root.matches("[data-figure]")) {
      draw(root);
    }
    root.querySelectorAll("[data-figure]").forEach(draw);
  });
})();
